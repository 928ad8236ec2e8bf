"""``python -m tests.bench``: run every figure, then print one table and what it measured."""

from __future__ import annotations

import argparse
import io
import os
import platform
import sys
import tempfile
import textwrap
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cryptography
from cryptography.hazmat.backends.openssl.backend import backend as openssl_backend
from rich import box
from rich.console import Console
from rich.table import Table

from smki.ca.pool import default_processes
from smki.ra.device_batch import DEFAULT_CHUNK
from tests.bench import baseline, csrs, smki_runs
from tests.bench.service import ServiceFigures, service_figures

_STARTED = time.perf_counter()
_WIDTH = 120


def progress(message: str) -> None:
    print(f"[{time.perf_counter() - _STARTED:7.1f} s] {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Options:
    n: int
    direct: int
    crl_entries: int
    processes: int
    cache_dir: Path
    service_batch: int
    single: int
    clients: int


def parse(argv: Sequence[str] | None) -> Options:
    parser = argparse.ArgumentParser(prog="python -m tests.bench", description=__doc__)
    parser.add_argument("--n", type=int, default=20_000, help="device CSRs per batch run")
    parser.add_argument("--direct", type=int, default=200, help="direct issuances timed")
    parser.add_argument(
        "--crl-entries", type=int, default=1_000_000, help="revoked entries in the CRL"
    )
    parser.add_argument(
        "--processes", type=int, default=default_processes(), help="pool size for pool runs"
    )
    parser.add_argument(
        "--cache-dir", type=Path, default=csrs.default_cache_dir(), help="where CSRs are cached"
    )
    parser.add_argument(
        "--service-batch",
        type=int,
        default=50_000,
        help="CSRs in the batch sent to smki serve (0 skips the service figures)",
    )
    parser.add_argument("--single", type=int, default=2_000, help="single CSRs sent under load")
    parser.add_argument("--clients", type=int, default=32, help="concurrent single-CSR clients")
    args = parser.parse_args(argv)
    if args.n < 1 or args.direct < 2 or args.crl_entries < 1 or args.processes < 1:
        parser.error("--n and --crl-entries must be positive, --direct at least 2")
    return Options(
        args.n,
        args.direct,
        args.crl_entries,
        args.processes,
        args.cache_dir,
        args.service_batch,
        args.single,
        args.clients,
    )


def machine_facts() -> str:
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    cores = f"{os.cpu_count()} cores" + (f" ({affinity} usable)" if affinity else "")
    return (
        f"Machine: {cores}, {platform.machine()}, {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()} ({platform.python_implementation()}); "
        f"cryptography {cryptography.__version__}; {openssl_backend.openssl_version_text()}"
    )


def _rate(count: int, seconds: float) -> str:
    return f"{count / seconds:,.0f} cert/s" if seconds > 0 else "n/a"


def _ratio(ours: float, theirs: float) -> str:
    return f"{ours / theirs:.2f}x baseline" if theirs > 0 else ""


def _where(processes: int) -> str:
    return "1 process" if processes == 1 else f"pool of {processes}"


def _wrapped(text: str, indent: str = "   ") -> str:
    return textwrap.fill(text, width=_WIDTH, subsequent_indent=indent)


def report(
    options: Options,
    batches: list[smki_runs.BatchFigures],
    bases: list[baseline.BaselineFigures],
    direct: smki_runs.DirectFigures,
    crl: smki_runs.CrlFigures,
    setup: dict[str, float],
    service: ServiceFigures | None,
) -> None:
    table = Table(title="smki benchmarks", box=box.SIMPLE_HEAVY, title_justify="left")
    table.add_column("#", no_wrap=True)
    table.add_column("Figure", no_wrap=True)
    table.add_column("Result", justify="right", no_wrap=True)
    table.add_column("Detail")
    for letter, ours, theirs in zip("ab", batches, bases, strict=True):
        detail = [
            f"{ours.issued:,} in {ours.seconds:.2f} s",
            _ratio(ours.issued / ours.seconds, theirs.issued / theirs.seconds),
        ]
        if ours.processes > 1:
            detail.append(f"pool start-up {ours.startup:.2f} s")
        if ours.refused:
            codes = ", ".join(f"{code} x{count:,}" for code, count in ours.refusals.items())
            detail.append(f"{ours.refused:,} REFUSED ({codes})")
        if not ours.linted:
            detail.append("template lint OFF")
        table.add_row(
            f"1{letter}",
            f"smki DeviceBatchIssuer, {_where(ours.processes)}",
            _rate(ours.issued, ours.seconds),
            "; ".join(detail),
        )
    for letter, theirs in zip("ab", bases, strict=True):
        detail = [f"{theirs.issued:,} in {theirs.seconds:.2f} s"]
        if theirs.processes > 1:
            detail.append(f"pool start-up {theirs.startup:.2f} s")
        table.add_row(
            f"2{letter}",
            f"baseline cryptography, {_where(theirs.processes)}",
            _rate(theirs.issued, theirs.seconds),
            "; ".join(detail),
        )
    table.add_row("3a", f"build_crl_tbs, {crl.entries:,} entries", f"{crl.build:.2f} s", "TBS only")
    table.add_row(
        "3b",
        f"sign_crl, {crl.entries:,} entries",
        f"{crl.sign:.2f} s",
        f"FileKeyStore signer; CRL {crl.size / 1e6:.1f} MB ({crl.size / 2**20:.1f} MiB)",
    )
    table.add_row("3c", "x509.load_der_x509_crl", f"{crl.load:.2f} s", "parse, for reference")
    table.add_row(
        "4",
        f"direct issue_from_csr, {direct.count} devices",
        f"p50 {direct.p50_ms:.1f} ms",
        f"p99 {direct.p99_ms:.1f} ms; max {direct.max_ms:.1f} ms; "
        f"cold first call {direct.first_ms:.1f} ms (not in p50/p99)",
    )
    if service is not None:
        table.add_row(
            "5a",
            f"smki serve: batch of {service.batch_count:,} over HTTP",
            f"{service.batch_seconds:.2f} s",
            f"{_rate(service.batch_retrieved, service.batch_seconds)}; 202 after "
            f"{service.batch_accepted_seconds:.2f} s; {service.batch_retrieved:,} certificates "
            "retrieved",
        )
        table.add_row(
            "5b",
            f"smki serve: {service.single_count:,} single CSRs, {service.clients} clients",
            f"p99 {service.p99_ms:.1f} ms",
            f"p50 {service.p50_ms:.1f} ms; {service.single_count / service.single_seconds:,.0f} "
            f"req/s; {service.single_errors} not 201",
        )
    console = Console(width=_WIDTH, highlight=False, file=io.StringIO())
    with console.capture() as capture:
        console.print(table)
    print("\n".join(line.rstrip() for line in capture.get().splitlines()))
    print(machine_facts())
    print(
        f"Setup, untimed: {options.n:,} CSRs {setup['csrs']:.1f} s "
        f"({'from cache' if setup['csrs'] == 0 else 'generated'}); Test ceremony "
        f"{setup['ceremony']:.1f} s; CRL entry list {crl.prepare:.1f} s; chunk {DEFAULT_CHUNK}."
    )
    caveats = dict.fromkeys(c for figures in batches for c in figures.caveats)
    for caveat in caveats:
        print(_wrapped(f"WARNING {caveat}", "        "))
    notes = [
        f"1  A fresh copy of a just-initialised home (SQLite, encrypted file keys) per run, "
        f"{options.n:,} prepared DER CSRs. Timed: DeviceBatchIssuer.run() from call to return: "
        "CSR checks, the template lint (once per worker: smki lints + pkilint) unless marked "
        "OFF, TBS fill, intents + audit, sign + re-parse + verify, certificates + audit "
        "committed to SQLite. Pool start-up (spawn, imports, key decryption, until every "
        "worker has answered) is excluded and shown apart.",
        "2  pyca/cryptography only: load_der_x509_csr, is_signature_valid, KU + SAN read, "
        "CertificateBuilder (KU, SKI, SAN, CP, AKI) signed with an unencrypted P-256 key; no "
        "database, no lint, no re-parse/verify. Pool: spawn workers, each loads its own key, "
        "same chunks; start-up excluded. Ratio = smki rate / baseline rate, same process count.",
        f"3  {crl.entries:,} entries: distinct 16-octet serials, distinct revocation times, a "
        "reason each. 3a build_crl_tbs alone; 3b sign_crl = build the TBS again + ECDSA sign + "
        "load_der_x509_crl + TBS compare + verify; 3c the parse alone.",
        "4  smki.ra.direct.issue_from_csr once per CSR, one process, as 'smki ca issue' calls "
        "it: CSR checks, Issuing DCA loaded from store + key store per call, build, full "
        "pre-sign lint (incl. pkilint), intent, sign, verify, store in SQLite.",
        "5  'smki serve' in its own process (one uvicorn worker, signing pool over all cores, "
        "SQLite): 5a from the start of the upload (concatenated PEM) to the last certificate "
        "fetched as one PEM bundle; 5b concurrent clients each POST one CSR at a time with a "
        "fresh ARO token, latency per request as the client sees it.",
    ]
    print("Notes:")
    for note in notes:
        print(_wrapped(note))


def main(argv: Sequence[str] | None = None) -> int:
    options = parse(argv)
    progress(machine_facts())
    needed = max(options.n, options.direct + 1, options.service_batch + options.single)
    prepared, generated = csrs.load_or_generate(
        needed, options.cache_dir, options.processes, progress
    )
    batch_csrs = prepared[: options.n]
    setup = {"csrs": generated}
    with tempfile.TemporaryDirectory(prefix="smki-bench-") as scratch:
        root = Path(scratch)
        template = root / "template"
        progress("ceremony for the Test environment")
        setup["ceremony"] = smki_runs.create_home(template)
        issuer_der, policy = smki_runs.issuing_dca_certificate(template)

        batches: list[smki_runs.BatchFigures] = []
        for processes in (1, options.processes):
            home = root / f"batch-{processes}"
            smki_runs.copy_home(template, home)
            progress(f"smki batch of {options.n:,} on {processes} process(es)")
            batches.append(smki_runs.batch_issue(home, batch_csrs, processes))

        spec = baseline.new_spec(issuer_der, policy)
        progress(f"baseline of {options.n:,} in-process")
        bases = [baseline.run_in_process(spec, batch_csrs, DEFAULT_CHUNK)]
        progress(f"baseline of {options.n:,} on a pool of {options.processes}")
        bases.append(baseline.run_pool(spec, batch_csrs, DEFAULT_CHUNK, options.processes))

        home = root / "direct"
        smki_runs.copy_home(template, home)
        progress(f"direct issuance x {options.direct}")
        direct = smki_runs.direct_issue(home, prepared[0], prepared[1 : options.direct + 1])

        progress(f"CRL of {options.crl_entries:,} entries")
        crl = smki_runs.crl_figures(home, options.crl_entries)

        service = None
        if options.service_batch:
            home = root / "service"
            smki_runs.copy_home(template, home)
            progress(
                f"smki serve: batch of {options.service_batch:,}, then "
                f"{options.single:,} single CSRs from {options.clients} clients"
            )
            service = service_figures(
                home,
                smki_runs.PASSPHRASE.decode(),
                prepared[: options.service_batch],
                prepared[options.service_batch : options.service_batch + options.single],
                options.clients,
            )
    progress("done")
    report(options, batches, bases, direct, crl, setup, service)
    return 0
