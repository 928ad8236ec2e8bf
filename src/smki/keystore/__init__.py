"""Key custody (R-CA-3): encrypted PKCS#8 files and PKCS#11 tokens behind one Signer protocol."""
