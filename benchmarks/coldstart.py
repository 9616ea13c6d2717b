"""Figure 3: cold start - importing the app, and the first batch, in fresh processes.

Both apps are imported from their unpacked ``chalice package`` zips (figure 5), each in a new
``python -S -B`` process: ``-S`` leaves out site-packages, so only the standard library and
what the zip ships can be imported, as in Lambda; ``-B``: every module the zip holds no
bytecode for is compiled from source on import, which is what Lambda does with a Chalice zip
(``/var/task`` is read-only, so no ``__pycache__`` can be written). users-stream's zip ships
``chalicelib``'s bytecode (``infra/staging.py``); the bare app's ships none. A second mode adds
precompiled bytecode to both unpacked zips (``compileall``): everything precompiled. The
import is timed with ``time.perf_counter`` inside the fresh process (interpreter start-up
excluded); the apps' runs are interleaved and the median taken.

After the import, the users-stream process runs the Chalice handler on a batch (the first
batch pays for whatever is loaded lazily), then on the same batch again (warm), and reports
whether boto3 or botocore was ever imported.
"""

from __future__ import annotations

import compileall
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["ColdStart", "measure_cold_start"]

PROBE = """
import json, sys, time
sys.path.insert(0, ".")
start = time.perf_counter()
import app
imported = time.perf_counter() - start
result = {"import_s": imported, "modules": len(sys.modules)}
if len(sys.argv) > 2:
    with open(sys.argv[2], encoding="utf-8") as source:
        event = json.load(source)
    handler = getattr(app, sys.argv[3])
    for key in ("first_batch_s", "warm_batch_s"):
        start = time.perf_counter()
        response = handler(event, None)
        result[key] = time.perf_counter() - start
    result["response"] = response
result["boto3_imported"] = "boto3" in sys.modules or "botocore" in sys.modules
with open(sys.argv[1], "w", encoding="utf-8") as sink:
    json.dump(result, sink)
"""

HANDLER = "handle_user_changes"


@dataclass(frozen=True)
class ColdStart:
    """Medians over fresh processes, in seconds."""

    runs: int
    app_import: float
    bare_import: float
    app_import_bytecode: float
    bare_import_bytecode: float
    first_batch: float
    warm_batch: float
    batch_records: int
    boto3_imported: bool
    modules_app: int
    modules_bare: int

    @property
    def ratio(self) -> float:
        return self.app_import / self.bare_import

    @property
    def ratio_bytecode(self) -> float:
        return self.app_import_bytecode / self.bare_import_bytecode


def _probe(directory: Path, result: Path, event: Path | None) -> dict[str, Any]:
    args = [sys.executable, "-S", "-B", "-c", PROBE, str(result)]
    if event is not None:
        args += [str(event), HANDLER]
    env = {"PATH": os.environ.get("PATH", ""), "LOG_LEVEL": "INFO", "LANG": "C.UTF-8"}
    subprocess.run(args, cwd=directory, env=env, check=True, stdout=subprocess.DEVNULL)
    return json.loads(result.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def measure_cold_start(
    app_dir: Path, bare_dir: Path, event: dict[str, Any], *, runs: int
) -> ColdStart:
    """Import both unpacked apps ``runs`` times each, interleaved, in both modes."""
    with tempfile.TemporaryDirectory(prefix="coldstart-") as scratch:
        work = Path(scratch)
        event_path = work / "event.json"
        event_path.write_text(json.dumps(event), encoding="utf-8")
        result = work / "result.json"
        compiled = {}
        for name, source in (("app", app_dir), ("bare", bare_dir)):
            target = work / f"{name}-bytecode"
            shutil.copytree(source, target)
            compileall.compile_dir(target, quiet=1)
            compiled[name] = target
        samples: dict[str, list[dict[str, Any]]] = {k: [] for k in ("app", "bare", "appc", "barec")}
        plan = [
            ("app", app_dir, event_path),
            ("bare", bare_dir, None),
            ("appc", compiled["app"], None),
            ("barec", compiled["bare"], None),
        ]
        for round_number in range(runs):
            shift = round_number % len(plan)
            for key, directory, event_file in plan[shift:] + plan[:shift]:
                samples[key].append(_probe(directory, result, event_file))

    def median(key: str, field: str) -> float:
        return float(statistics.median(sample[field] for sample in samples[key]))

    return ColdStart(
        runs=runs,
        app_import=median("app", "import_s"),
        bare_import=median("bare", "import_s"),
        app_import_bytecode=median("appc", "import_s"),
        bare_import_bytecode=median("barec", "import_s"),
        first_batch=median("app", "first_batch_s"),
        warm_batch=median("app", "warm_batch_s"),
        batch_records=len(event["Records"]),
        boto3_imported=any(s["boto3_imported"] for k in samples for s in samples[k]),
        modules_app=samples["app"][0]["modules"],
        modules_bare=samples["bare"][0]["modules"],
    )
