"""Device CSRs for the benchmarks, generated in a process pool and cached under the temp dir.

Each CSR: a fresh P-256 key, an empty subject, a critical keyUsage digitalSignature and a
critical subjectAltName holding one HardwareModuleName otherName (hwType
1.2.826.0.1.8641679.1.2.2.1) with a distinct 8-octet EUI-64 (its index).

The cache is one file of length-prefixed DER CSRs; a run that needs more than the file holds
generates only the missing ones and appends them.
"""

from __future__ import annotations

import multiprocessing
import os
import struct
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding

from smki.x509.eui import eui64_from_bytes
from smki.x509.hwname import HardwareModuleName
from smki.x509.oids import DEFAULT_DEVICE_HW_TYPE, HARDWARE_MODULE_NAME

_MAGIC = b"smki-bench-device-csrs/1\n"
_LENGTH = struct.Struct(">H")
_EUI_PREFIX = bytes.fromhex("BE4C0001")  # + 4-octet index: distinct EUI-64s
_GEN_CHUNK = 500

_KEY_USAGE_DS = x509.KeyUsage(
    digital_signature=True,
    content_commitment=False,
    key_encipherment=False,
    data_encipherment=False,
    key_agreement=False,
    key_cert_sign=False,
    crl_sign=False,
    encipher_only=False,
    decipher_only=False,
)


def default_cache_dir() -> Path:
    return Path(tempfile.gettempdir()) / "smki-bench-cache"


def device_csr(index: int) -> bytes:
    """One DER Device CSR whose EUI-64 encodes ``index``."""
    key = ec.generate_private_key(ec.SECP256R1())
    eui = eui64_from_bytes(_EUI_PREFIX + index.to_bytes(4, "big"))
    hardware = HardwareModuleName(DEFAULT_DEVICE_HW_TYPE, eui)
    san = x509.SubjectAlternativeName([x509.OtherName(HARDWARE_MODULE_NAME, hardware.encode())])
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([]))
        .add_extension(_KEY_USAGE_DS, critical=True)
        .add_extension(san, critical=True)
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(Encoding.DER)


def device_csrs(start: int, count: int) -> list[bytes]:
    """Worker side: CSRs for indexes ``start`` … ``start + count - 1``."""
    return [device_csr(index) for index in range(start, start + count)]


def _read_cache(path: Path) -> list[bytes]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    if not data.startswith(_MAGIC):
        return []
    out: list[bytes] = []
    offset = len(_MAGIC)
    while offset + _LENGTH.size <= len(data):
        (size,) = _LENGTH.unpack_from(data, offset)
        offset += _LENGTH.size
        if offset + size > len(data):
            break  # a torn tail: drop it
        out.append(data[offset : offset + size])
        offset += size
    return out


def _write_cache(path: Path, csrs: list[bytes]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    body = b"".join(_LENGTH.pack(len(c)) + c for c in csrs)
    fd, temporary = tempfile.mkstemp(prefix=".csrs-", dir=path.parent)
    with os.fdopen(fd, "wb") as handle:
        handle.write(_MAGIC + body)
    os.replace(temporary, path)


def load_or_generate(
    n: int, cache_dir: Path, processes: int, progress: Callable[[str], None]
) -> tuple[list[bytes], float]:
    """``n`` Device CSRs and the seconds spent generating new ones (0 when all were cached)."""
    path = cache_dir / "device-csrs.bin"
    cached = _read_cache(path)
    if len(cached) >= n:
        progress(f"{n:,} device CSRs from the cache {path}")
        return cached[:n], 0.0
    missing = n - len(cached)
    progress(f"generating {missing:,} device CSRs on {processes} processes (cached in {path})")
    started = time.perf_counter()
    starts = range(len(cached), n, _GEN_CHUNK)
    with ProcessPoolExecutor(
        max_workers=processes, mp_context=multiprocessing.get_context("spawn")
    ) as pool:
        futures = [pool.submit(device_csrs, s, min(_GEN_CHUNK, n - s)) for s in starts]
        fresh = [csr for future in futures for csr in future.result()]
    elapsed = time.perf_counter() - started
    csrs = cached + fresh
    _write_cache(path, csrs)
    return csrs, elapsed
