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
from tests.bench import baseline, csrs, repository_figures, smki_runs
from tests.bench.repository import LookupFigures
from tests.bench.repository_figures import RepositoryOptions
from tests.bench.service import GENERATORS, WARMUP_CSRS, ServiceFigures, service_figures
from tests.bench.validation import ValidationFigures

_STARTED = time.perf_counter()
_WIDTH = 120
FIGURES = ("1", "2", "3", "4", "5", "6", "7")
#: Figures that need the prepared device CSRs, and those that need the Test ceremony's home.
_NEED_CSRS = frozenset({"1", "2", "4", "5"})
_NEED_TEMPLATE = frozenset({"1", "2", "3", "4", "5"})


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
    figures: frozenset[str]
    generators: tuple[str, ...]
    repository: RepositoryOptions


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
        help="CSRs in the batch sent to smki serve (0 skips figure 5a)",
    )
    parser.add_argument("--single", type=int, default=2_000, help="single CSRs sent under load")
    parser.add_argument("--clients", type=int, default=32, help="concurrent single-CSR clients")
    parser.add_argument(
        "--figures",
        default=",".join(FIGURES),
        help="which figures to run, e.g. '1,2,5' (batch issuer, baseline, service): "
        "1 smki batch issuer, 2 cryptography baseline, 3 CRL, 4 direct issuance, 5 service, "
        "6 repository look-ups, 7 validations per second",
    )
    parser.add_argument(
        "--generator",
        choices=(*GENERATORS, "both"),
        default="both",
        help="single-CSR load generator for figure 5b: light (raw keep-alive connections, "
        "tokens minted first), httpx (as first written), or both (each with its own CSRs)",
    )
    repository_figures.add_options(parser)
    args = parser.parse_args(argv)
    if args.n < 1 or args.direct < 2 or args.crl_entries < 1 or args.processes < 1:
        parser.error("--n and --crl-entries must be positive, --direct at least 2")
    figures = frozenset(f.strip() for f in args.figures.split(",") if f.strip())
    if not figures or not figures <= set(FIGURES):
        parser.error(f"--figures takes numbers from 1 to {FIGURES[-1]}, comma-separated")
    generators = GENERATORS if args.generator == "both" else (args.generator,)
    return Options(
        args.n,
        args.direct,
        args.crl_entries,
        args.processes,
        args.cache_dir,
        args.service_batch,
        args.single,
        args.clients,
        figures,
        generators,
        repository_figures.options_from(args, parser),
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
    direct: smki_runs.DirectFigures | None,
    crl: smki_runs.CrlFigures | None,
    setup: dict[str, float],
    service: ServiceFigures | None,
    lookups: list[LookupFigures],
    validation: ValidationFigures | None,
) -> None:
    table = Table(title="smki benchmarks", box=box.SIMPLE_HEAVY, title_justify="left")
    table.add_column("#", no_wrap=True)
    table.add_column("Figure", no_wrap=True)
    table.add_column("Result", justify="right", no_wrap=True)
    table.add_column("Detail")
    for index, ours in enumerate(batches):
        detail = [f"{ours.issued:,} in {ours.seconds:.2f} s"]
        if index < len(bases):
            theirs = bases[index]
            detail.append(_ratio(ours.issued / ours.seconds, theirs.issued / theirs.seconds))
        if ours.processes > 1:
            detail.append(f"pool start-up {ours.startup:.2f} s")
        if ours.refused:
            codes = ", ".join(f"{code} x{count:,}" for code, count in ours.refusals.items())
            detail.append(f"{ours.refused:,} REFUSED ({codes})")
        if not ours.linted:
            detail.append("template lint OFF")
        table.add_row(
            f"1{'ab'[index]}",
            f"smki DeviceBatchIssuer, {_where(ours.processes)}",
            _rate(ours.issued, ours.seconds),
            "; ".join(detail),
        )
    for index, theirs in enumerate(bases):
        detail = [f"{theirs.issued:,} in {theirs.seconds:.2f} s"]
        if theirs.processes > 1:
            detail.append(f"pool start-up {theirs.startup:.2f} s")
        table.add_row(
            f"2{'ab'[index]}",
            f"baseline cryptography, {_where(theirs.processes)}",
            _rate(theirs.issued, theirs.seconds),
            "; ".join(detail),
        )
    if crl is not None:
        table.add_row(
            "3a", f"build_crl_tbs, {crl.entries:,} entries", f"{crl.build:.2f} s", "TBS only"
        )
        table.add_row(
            "3b",
            f"sign_crl, {crl.entries:,} entries",
            f"{crl.sign:.2f} s",
            f"FileKeyStore signer; CRL {crl.size / 1e6:.1f} MB ({crl.size / 2**20:.1f} MiB)",
        )
        table.add_row("3c", "x509.load_der_x509_crl", f"{crl.load:.2f} s", "parse, for reference")
    if direct is not None:
        table.add_row(
            "4",
            f"direct issue_from_csr, {direct.count} devices",
            f"p50 {direct.p50_ms:.1f} ms",
            f"p99 {direct.p99_ms:.1f} ms; max {direct.max_ms:.1f} ms; "
            f"cold first call {direct.first_ms:.1f} ms (not in p50/p99)",
        )
    if service is not None:
        if service.batch_count:
            table.add_row(
                "5a",
                f"smki serve: batch of {service.batch_count:,} over HTTP",
                f"{service.batch_seconds:.2f} s",
                f"{_rate(service.batch_retrieved, service.batch_seconds)}; 202 after "
                f"{service.batch_accepted_seconds:.2f} s; {service.batch_retrieved:,} "
                "certificates retrieved",
            )
        for single in service.singles:
            label = "5b" if single.generator == "light" else "5b'"
            table.add_row(
                "5c" if single.workers > 1 else label,
                f"smki serve{' --workers 2' if single.workers > 1 else ''}: "
                f"{single.count:,} single CSRs, {single.clients} clients",
                f"p99 {single.p99_ms:.1f} ms",
                f"p50 {single.p50_ms:.1f} ms; {single.count / single.seconds:,.0f} req/s; "
                f"{single.errors} not 201; {single.generator} generator, its CPU "
                f"{single.client_cpu_ms:.2f} ms/request",
            )
    for row in repository_figures.lookup_rows(lookups):
        table.add_row(*row)
    if validation is not None:
        for row in repository_figures.validation_rows(validation):
            table.add_row(*row)
    console = Console(width=_WIDTH, highlight=False, file=io.StringIO())
    with console.capture() as capture:
        console.print(table)
    print("\n".join(line.rstrip() for line in capture.get().splitlines()))
    print(machine_facts())
    done = []
    if "csrs" in setup:
        kind = "from cache" if setup["csrs"] == 0 else "generated"
        done.append(f"{options.n:,} CSRs {setup['csrs']:.1f} s ({kind})")
    if "ceremony" in setup:
        done.append(f"Test ceremony {setup['ceremony']:.1f} s")
    if crl is not None:
        done.append(f"CRL entry list {crl.prepare:.1f} s")
    if "csrs" in setup:
        done.append(f"chunk {DEFAULT_CHUNK}")
    if lookups or validation is not None:
        done.append(repository_figures.setup_text(lookups, validation))
    print(f"Setup, untimed: {'; '.join(done)}; figures {','.join(sorted(options.figures))}.")
    caveats = dict.fromkeys(c for figures in batches for c in figures.caveats)
    for caveat in caveats:
        print(_wrapped(f"WARNING {caveat}", "        "))
    entries = f"{crl.entries:,}" if crl is not None else "N"
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
        f"3  {entries} entries: distinct 16-octet serials, distinct revocation times, a "
        "reason each. 3a build_crl_tbs alone; 3b sign_crl = build the TBS again + ECDSA sign + "
        "load_der_x509_crl + TBS compare + verify; 3c the parse alone.",
        "4  smki.ra.direct.issue_from_csr once per CSR, one process, as 'smki ca issue' calls "
        "it: CSR checks, Issuing DCA loaded from store + key store per call, build, full "
        "pre-sign lint (incl. pkilint), intent, sign, verify, store in SQLite.",
        "5  'smki serve' in its own process (one uvicorn worker, signing pool over all cores, "
        "SQLite), on the same cores as this process, once /readyz answers 200 (its signing pool"
        " started): 5a from the start of the upload (concatenated PEM) to the last certificate "
        "fetched as one PEM bundle, asking for the batch's state with ?wait=30 (answered as it "
        "finishes); 5b concurrent clients (threads of this process) each POST one CSR at a time"
        " with a fresh ARO token, latency per request as the client sees it, after 200 untimed "
        "requests that warm the service up. The light "
        "generator (5b) mints every token before the clock starts and keeps one raw HTTP/1.1 "
        "connection per client; the httpx generator (5b') mints each token just before its "
        "request, outside the timed part, and uses an httpx client per thread; 'its CPU' is "
        "this process's CPU per request while timed. 5c: the light generator again, against "
        "'smki serve --workers 2' on the same home (each worker with its own writer: their "
        "group commits queue on the SQLite write lock). With N closed-loop clients the mean "
        "latency is N / throughput (Little's law).",
    ]
    notes = [note for note in notes if note[0] in options.figures]
    notes += repository_figures.notes(options.repository, bool(lookups), validation is not None)
    print("Notes:")
    for note in notes:
        print(_wrapped(note))


@dataclass
class _Issued:
    """Figures 1 to 5, as far as they ran."""

    batches: list[smki_runs.BatchFigures]
    bases: list[baseline.BaselineFigures]
    direct: smki_runs.DirectFigures | None = None
    crl: smki_runs.CrlFigures | None = None
    service: ServiceFigures | None = None


def _issuance_figures(
    root: Path, options: Options, prepared: list[bytes], setup: dict[str, float]
) -> _Issued:
    wanted = options.figures
    batch_csrs = prepared[: options.n]
    found = _Issued([], [])
    template = root / "template"
    progress("ceremony for the Test environment")
    setup["ceremony"] = smki_runs.create_home(template)
    issuer_der, policy = smki_runs.issuing_dca_certificate(template)

    for processes in (1, options.processes) if "1" in wanted else ():
        home = root / f"batch-{processes}"
        smki_runs.copy_home(template, home)
        progress(f"smki batch of {options.n:,} on {processes} process(es)")
        found.batches.append(smki_runs.batch_issue(home, batch_csrs, processes))

    if "2" in wanted:
        spec = baseline.new_spec(issuer_der, policy)
        progress(f"baseline of {options.n:,} in-process")
        found.bases.append(baseline.run_in_process(spec, batch_csrs, DEFAULT_CHUNK))
        progress(f"baseline of {options.n:,} on a pool of {options.processes}")
        found.bases.append(baseline.run_pool(spec, batch_csrs, DEFAULT_CHUNK, options.processes))

    home = root / "direct"
    smki_runs.copy_home(template, home)
    if "4" in wanted:
        progress(f"direct issuance x {options.direct}")
        found.direct = smki_runs.direct_issue(home, prepared[0], prepared[1 : options.direct + 1])

    if "3" in wanted:
        progress(f"CRL of {options.crl_entries:,} entries")
        found.crl = smki_runs.crl_figures(home, options.crl_entries)

    if "5" in wanted and (options.service_batch or options.single):
        home = root / "service"
        smki_runs.copy_home(template, home)
        progress(
            f"smki serve: batch of {options.service_batch:,}, then "
            f"{options.single:,} single CSRs from {options.clients} clients per generator "
            f"({', '.join(options.generators)})"
        )
        first = options.service_batch
        per_set = options.single + WARMUP_CSRS  # each set: its warm-up, then the timed CSRs
        found.service = service_figures(
            home,
            smki_runs.PASSPHRASE.decode(),
            prepared[:first],
            [
                (
                    generator,
                    prepared[first + i * per_set : first + (i + 1) * per_set],
                )
                for i, generator in enumerate(options.generators)
            ],
            options.clients,
            prepared[
                first + len(options.generators) * per_set : first
                + (len(options.generators) + 1) * per_set
            ],
        )
    return found


def main(argv: Sequence[str] | None = None) -> int:
    options = parse(argv)
    wanted = options.figures
    progress(machine_facts())
    prepared: list[bytes] = []
    setup: dict[str, float] = {}
    if wanted & _NEED_CSRS:
        # One more set for the light generator against two workers (5c).
        singles = (options.single + WARMUP_CSRS) * (len(options.generators) + 1)
        needed = max(options.n, options.direct + 1, options.service_batch + singles)
        prepared, setup["csrs"] = csrs.load_or_generate(
            needed, options.cache_dir, options.processes, progress
        )
    issued = _Issued([], [])
    lookups: list[LookupFigures] = []
    validation = None
    with tempfile.TemporaryDirectory(prefix="smki-bench-") as scratch:
        root = Path(scratch)
        if wanted & _NEED_TEMPLATE:
            issued = _issuance_figures(root, options, prepared, setup)
        if "6" in wanted:
            lookups = repository_figures.run_lookups(root, options.repository, progress)
        if "7" in wanted:
            validation = repository_figures.run_validations(
                root, options.repository, bool(lookups), progress
            )
    progress("done")
    report(
        options,
        issued.batches,
        issued.bases,
        issued.direct,
        issued.crl,
        setup,
        issued.service,
        lookups,
        validation,
    )
    return 0
