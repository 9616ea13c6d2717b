"""Figures 3 and 5: cold start in fresh processes and the deployment zip, from `chalice package`."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks.figures.plan import Plan
from benchmarks.figures.units import ms
from benchmarks.report import Report, Row
from benchmarks.workload import NO_INSERT_MIX, sized_batch

if TYPE_CHECKING:
    from benchmarks.coldstart import ColdStart

__all__ = ["run_coldstart_and_package"]


def run_coldstart_and_package(report: Report, plan: Plan) -> None:
    from benchmarks.coldstart import measure_cold_start
    from benchmarks.deployment import PROJECT, build_bare_project, build_package

    print("figures 3 and 5: chalice package, cold start", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-package-") as scratch:
        work = Path(scratch)
        ours = build_package(PROJECT, work, "users-stream")
        bare = build_package(build_bare_project(work), work, "bare")
        batch = sized_batch(100, mix=NO_INSERT_MIX)
        cold = measure_cold_start(
            ours.unpacked, bare.unpacked, batch.event, runs=plan.coldstart_runs
        )
        ours_size, bare_size, ours_files = ours.size_bytes, bare.size_bytes, ours.files()
    _add_coldstart(report, plan, cold)
    _add_package(report, ours_size, bare_size, ours_files)


def _add_coldstart(report: Report, plan: Plan, cold: ColdStart) -> None:
    """Figure 3: the rows and the section of the cold start."""
    report.add(
        Row(
            "3. Cold start: import the app (as deployed)",
            ms(cold.app_import),
            f"bare Chalice app {ms(cold.bare_import)}",
            cold.ratio,
            1.5,
        )
    )
    report.add(
        Row(
            "3. Cold start: import with precompiled bytecode",
            ms(cold.app_import_bytecode),
            f"bare Chalice app {ms(cold.bare_import_bytecode)}",
            cold.ratio_bytecode,
            1.5,
        )
    )
    report.add(
        Row(
            f"3. First batch after import ({cold.batch_records} records)",
            ms(cold.first_batch),
            f"same batch warm {ms(cold.warm_batch)}",
        )
    )
    boto3 = "was imported (a defect)" if cold.boto3_imported else "was never imported"
    report.section(
        "3. Cold start",
        f"""
Each app is imported from its unpacked `chalice package` zip in a fresh `python -S -B`
process (no site-packages: only the standard library and what the zip ships, as in Lambda),
timed with `time.perf_counter` around `import app`; {plan.coldstart_runs} runs per app and
mode, interleaved, median. "As deployed": the zip as `chalice package` builds it from the
staged project: users-stream's `chalicelib/` ships unchecked-hash bytecode compiled at staging
(`infra/staging.py`), the bare app none; Lambda's read-only `/var/task` cannot cache any, so
everything else (`app.py`, Chalice's runtime, in both) is compiled at import. "Precompiled":
both unpacked zips compiled with `compileall` first.
users-stream imports {cold.modules_app} modules, the bare app {cold.modules_bare}.
The first batch is {cold.batch_records} MODIFY/REMOVE records through the Chalice handler
(`app.handle_user_changes(event, context)`) right after the import; boto3 {boto3}.
""",
    )


def _add_package(report: Report, ours_size: int, bare_size: int, ours_files: list[str]) -> None:
    """Figure 5: the row and the section of the deployment zip."""
    report.add(
        Row(
            "5. Deployment zip (`chalice package`)",
            f"{ours_size:,} bytes",
            f"bare Chalice app {bare_size:,} bytes",
        )
    )
    report.section(
        "5. Deployment package",
        f"""
`chalice package` of a clean copy of the project (`infra.staging`: no `__pycache__`):
{ours_size:,} bytes, {len(ours_files)} files: `app.py`, Chalice's runtime
({sum(f.startswith("chalice/") for f in ours_files)} files) and `chalicelib/`
({sum(f.startswith("chalicelib/") for f in ours_files)} files); a bare
`chalice new-project` app: {bare_size:,} bytes. `requirements.txt` is empty: nothing is
vendored, boto3 comes from the Lambda runtime.
""",
    )
