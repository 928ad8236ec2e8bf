"""Certificate profiles: what each kind of certificate looks like, byte for byte (SPEC §2)."""
