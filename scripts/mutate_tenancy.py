#!/usr/bin/env python
"""Mutation run over tenancy filters and the rules that guard money, slots, bookings, crypto and webhooks.

Two kinds of mutants, each applied ALONE to a temporary copy of the tree (the working tree is never touched):
- tenancy: every tenancy filter in the code — a `clinic=` / `clinic_id=` / `<x>__clinic` / `clinic__<x>` lookup in
  a filter(), get(), exclude(), get_or_create(), update_or_create(), get_object_or_404(), Q() call, a
  `**{"clinic...": ...}` or `**{<model>.clinic_lookup: ...}` lookup, and every `.for_clinic(x)` (becomes `.all()`)
  — is removed, one at a time;
- classic: comparison flips (`<` -> `<=`, `==` -> `!=`, `in` -> `not in`...), `and` <-> `or`, a dropped operand of
  `and`/`or`, a removed `not`, a negated `if`, a flipped `return True/False`, in CLASSIC_TARGETS.

For each mutant the script runs a targeted pytest selection (`-x -q -p no:randomly --reuse-db`), the fastest
proof first: tenancy mutants run the tenancy proofs (TENANCY_TESTS), and only if they survive, the tests of the
mutated app; classic mutants run the module's tests from TEST_MAP. A mutant is "killed" when a test fails,
"survived" when every selected test passes, "timeout" past --timeout seconds.

With --coverage-map (built once by --build-coverage-map: the whole suite but browser and worker tests, under
coverage with one context per test), each mutant runs instead exactly the tests that execute its lines, the
tenancy proofs among them first; a mutant whose lines no test executes is "uncovered" (it survives).

    .venv/bin/python scripts/mutate_tenancy.py --list                 # the mutants, no tests run
    .venv/bin/python scripts/mutate_tenancy.py --budget 2400 --sample 60 --seed 11 --out mutants.json
    .venv/bin/python scripts/mutate_tenancy.py --kind tenancy --path telephony/services.py
    .venv/bin/python scripts/mutate_tenancy.py --kind tenancy --path scheduling/services.py --tests tests/test_x.py
    .venv/bin/python scripts/mutate_tenancy.py --build-coverage-map coverage-map.json   # ~10 min
    .venv/bin/python scripts/mutate_tenancy.py --build-coverage-map notes-map.json --path notes/services.py \
        --tests notes/tests --tests tests/test_tenancy_filters.py      # a partial map: notes measured, these tests
    .venv/bin/python scripts/mutate_tenancy.py --coverage-map coverage-map.json --out mutants.json

Needs DATABASE_URL like the test suite; the run uses its own test database (TEST_DB_SUFFIX, default "mutants").
docs/testing.md records the last run and its survivors.
"""
import argparse
import ast
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ("clinics", "scheduling", "telephony", "campaigns", "billing", "notes", "knowledge", "config")
SKIP_PARTS = {"tests", "migrations", "__pycache__", "locale", "templates", "static"}

TENANCY_TESTS = ["tests/test_tenancy_filters.py", "tests/test_console_tenancy_walk.py", "tests/test_tenancy_walk.py"]

# Classic mutants: module -> the functions to mutate (None: the whole module).
CLASSIC_TARGETS = {
    "clinics/crypto.py": None,
    "clinics/tenancy.py": None,
    "scheduling/selectors.py": {"booking_rules", "merge", "subtract", "_weekly_intervals", "_open_times",
                                "bookable_professionals", "availability", "calendars", "_clip", "busy_intervals",
                                "free_slots", "booking_check", "occupied_range"},
    "scheduling/services.py": {"_check_time", "_check_bookable", "_refusal_of", "_save_guarded", "appointment_book",
                               "_book_once", "appointment_update", "availability_exception_create"},
    "telephony/backends/sms.py": {"verify_webhook"},
    "telephony/backends/voice.py": {"verify_webhook"},
    "telephony/backends/video.py": {"verify_webhook"},
    "telephony/outbound_webhooks.py": {"verify", "sign"},
    "billing/backends/payments.py": {"verify_webhook"},
}

# Module -> the tests that prove its rules, fastest and most specific first.
TEST_MAP = {
    "clinics/crypto.py": ["tests/test_tenancy_filters.py", "tests/test_foundation.py", "scheduling/tests/test_patients.py",
                          "scheduling/tests/test_patients_rgpd.py", "notes/tests/test_models.py"],
    "clinics/tenancy.py": TENANCY_TESTS,
    "clinics/ratelimit.py": ["clinics/tests/test_ratelimit.py"],
    "scheduling/selectors.py": ["tests/test_tenancy_filters.py", "scheduling/tests/test_selectors.py",
                                "scheduling/tests/test_public_booking.py", "scheduling/tests/test_services.py"],
    "scheduling/services.py": ["tests/test_tenancy_filters.py", "scheduling/tests/test_services.py",
                               "scheduling/tests/test_api_v1.py", "scheduling/tests/test_console.py",
                               "scheduling/tests/test_public_marketing_consent.py"],
    "telephony/backends/sms.py": ["telephony/tests/test_webhooks.py"],
    "telephony/backends/voice.py": ["telephony/tests/test_elevenlabs_webhook.py"],
    "telephony/backends/video.py": ["telephony/tests/test_video.py"],
    "telephony/outbound_webhooks.py": ["telephony/tests/test_outbound_webhooks.py"],
    "billing/backends/payments.py": ["tests/test_tenancy_filters.py", "billing/tests/test_webhooks.py", "billing/tests/test_stripe_backend.py"],
}

FILTER_METHODS = {"filter", "get", "exclude", "get_or_create", "update_or_create"}
FILTER_FUNCTIONS = {"get_object_or_404", "get_list_or_404", "Q"}
FLIPS = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq,
         ast.NotEq: ast.Eq, ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Is: ast.IsNot, ast.IsNot: ast.Is}


@dataclass
class Mutant:
    path: str
    kind: str  # "tenancy" or "classic"
    index: int  # which candidate of the module, in walk order
    variant: int  # which change of that candidate
    line: int
    description: str
    end_line: int = 0
    status: str = ""
    seconds: float = 0.0
    killed_by: str = ""
    stages: list = field(default_factory=list)


# --- Finding candidates -------------------------------------------------------------------------------------


def _call_name(call):
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def _is_tenancy_lookup(name):
    parts = name.split("__")
    return "clinic" in parts or "clinic_id" in parts


def _tenancy_key(node):
    """A `**{...}` key that names the clinic: a string lookup, or `<model>.clinic_lookup`."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return _is_tenancy_lookup(node.value)
    return isinstance(node, ast.Attribute) and node.attr == "clinic_lookup"


def tenancy_candidates(tree):
    """[(node, [(variant description, apply(node) -> replacement or None)])] in a deterministic order."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _call_name(node)
        if name == "for_clinic" and isinstance(node.func, ast.Attribute):
            def to_all(call):
                call.func.attr, call.args, call.keywords = "all", [], []
            found.append((node, [(".for_clinic(...) -> .all()", to_all)]))
            continue
        if name not in FILTER_METHODS | FILTER_FUNCTIONS:
            continue
        variants = []
        for position, keyword in enumerate(node.keywords):
            if keyword.arg is not None and _is_tenancy_lookup(keyword.arg):
                variants.append((f"{name}(): drop {keyword.arg}=", _drop_keyword(position)))
            elif keyword.arg is None and isinstance(keyword.value, ast.Dict):
                for key_position, key in enumerate(keyword.value.keys):
                    if key is not None and _tenancy_key(key):
                        variants.append((f"{name}(**{{{ast.unparse(key)}: ...}}): drop the lookup",
                                         _drop_dict_key(position, key_position)))
        if variants:
            found.append((node, variants))
    return found


def _drop_keyword(position):
    def apply(call):
        del call.keywords[position]
    return apply


def _drop_dict_key(position, key_position):
    def apply(call):
        mapping = call.keywords[position].value
        del mapping.keys[key_position]
        del mapping.values[key_position]
    return apply


def _functions(tree, names):
    if names is None:
        return [tree]
    found = [node for node in ast.walk(tree)
             if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in names]
    missing = set(names) - {node.name for node in found}
    if missing:
        # A renamed function would silently drop its mutants (the booking service's did: 12 of ~100 left).
        raise SystemExit(f"CLASSIC_TARGETS names functions that no longer exist: {sorted(missing)}")
    return found


def classic_candidates(tree, names):
    found, seen = [], set()
    for scope in _functions(tree, names):
        for node in ast.walk(scope):
            if id(node) in seen:
                continue
            seen.add(id(node))
            variants = []
            if isinstance(node, ast.Compare):
                for position, op in enumerate(node.ops):
                    if type(op) in FLIPS:
                        new = FLIPS[type(op)]
                        variants.append((f"{_op_text(op)} -> {_op_text(new())}", _flip(position, new)))
            elif isinstance(node, ast.BoolOp):
                other = ast.Or if isinstance(node.op, ast.And) else ast.And
                word = "and" if isinstance(node.op, ast.And) else "or"
                variants.append((f"{word} -> {'or' if word == 'and' else 'and'}", _swap_boolop(other)))
                for position in range(len(node.values)):
                    variants.append((f"{word}: drop operand {position + 1} "
                                     f"({ast.unparse(node.values[position])[:60]})", _drop_operand(position)))
            elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
                variants.append(("drop `not`", None))
            elif isinstance(node, ast.If):
                variants.append((f"negate `if {ast.unparse(node.test)[:60]}`", _negate_if))
            elif isinstance(node, ast.Return) and isinstance(node.value, ast.Constant) and isinstance(
                    node.value.value, bool):
                variants.append((f"return {node.value.value} -> {not node.value.value}", _flip_return))
            if variants:
                found.append((node, variants))
    return found


def _op_text(op):
    return {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!=", ast.In: "in",
            ast.NotIn: "not in", ast.Is: "is", ast.IsNot: "is not"}[type(op)]


def _flip(position, new):
    def apply(node):
        node.ops[position] = new()
    return apply


def _swap_boolop(other):
    def apply(node):
        node.op = other()
    return apply


def _drop_operand(position):
    def apply(node):
        del node.values[position]
        if len(node.values) == 1:
            return node.values[0]
        return None
    return apply


def _negate_if(node):
    node.test = ast.UnaryOp(op=ast.Not(), operand=node.test)


def _flip_return(node):
    node.value = ast.Constant(value=not node.value.value)


class _Replace(ast.NodeTransformer):
    def __init__(self, target, replacement):
        self.target, self.replacement = target, replacement

    def generic_visit(self, node):
        for name, value in ast.iter_fields(node):
            if isinstance(value, list):
                value[:] = [self.replacement if item is self.target else item for item in value]
            elif value is self.target:
                setattr(node, name, self.replacement)
        return super().generic_visit(node)


def candidates_of(kind, path, tree):
    return tenancy_candidates(tree) if kind == "tenancy" else classic_candidates(tree, CLASSIC_TARGETS[path])


def mutated_source(mutant: Mutant, source: str) -> str:
    tree = ast.parse(source)
    node, variants = candidates_of(mutant.kind, mutant.path, tree)[mutant.index]
    _description, apply = variants[mutant.variant]
    if apply is None:  # drop `not`: the operand replaces the UnaryOp
        _Replace(node, node.operand).visit(tree)
    else:
        replacement = apply(node)
        if replacement is not None:
            _Replace(node, replacement).visit(tree)
    return ast.unparse(ast.fix_missing_locations(tree)) + "\n"


def tenancy_paths():
    paths = []
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            relative = path.relative_to(ROOT)
            if not SKIP_PARTS & set(relative.parts):
                paths.append(str(relative))
    return paths


def all_mutants(kinds, only_paths=None):
    mutants = []
    plan = []
    if "tenancy" in kinds:
        plan += [("tenancy", path) for path in tenancy_paths()]
    if "classic" in kinds:
        plan += [("classic", path) for path in CLASSIC_TARGETS if (ROOT / path).exists()]
    for kind, path in plan:
        if only_paths and path not in only_paths:
            continue
        source = (ROOT / path).read_text()
        tree = ast.parse(source)
        for index, (node, variants) in enumerate(candidates_of(kind, path, tree)):
            for variant, (description, _apply) in enumerate(variants):
                mutants.append(Mutant(path, kind, index, variant, node.lineno,
                                      f"{description} | {ast.get_source_segment(source, node)[:90]!r}",
                                      end_line=node.end_lineno or node.lineno))
    return mutants


# --- Running ------------------------------------------------------------------------------------------------


def stages_for(mutant: Mutant, coverage_map=None, tests=None):
    """The pytest selections to run in order; the next runs only if the mutant survived the previous."""
    if tests:
        return [tests]
    if coverage_map is not None:
        return covering_stages(mutant, coverage_map)
    if mutant.kind == "classic":
        return [TEST_MAP[mutant.path]]
    app = mutant.path.split("/", 1)[0]
    own = TEST_MAP.get(mutant.path) or ([f"{app}/tests"] if app != "config" else ["tests", "config"])
    return [TENANCY_TESTS, [path for path in own if path not in TENANCY_TESTS]]


def covering_stages(mutant: Mutant, coverage_map):
    """The tests that execute the mutant's lines: the tenancy proofs among them first, then the others."""
    tests, lines = coverage_map["tests"], coverage_map["files"].get(mutant.path, {})
    covering = sorted({tests[number] for line in range(mutant.line, (mutant.end_line or mutant.line) + 1)
                       for number in lines.get(str(line), ())})
    proofs = [test for test in covering if test.split("::", 1)[0] in TENANCY_TESTS]
    return [proofs, [test for test in covering if test not in proofs]]


COVERAGE_SOURCES = [app for app in APPS]


def build_coverage_map(out, timeout, tests=None, sources=None):
    """Run the suite (but browser and worker tests) under coverage, one context per test; write the line map.
    `tests` and `sources` narrow it (a partial map: a mutant's lines that only other tests execute look
    uncovered, so build it with the tenancy proofs and the tests of the apps measured)."""
    env = {**os.environ, "TEST_DB_SUFFIX": os.environ.get("MUTANTS_DB_SUFFIX", "mutants"),
           "PYTHONDONTWRITEBYTECODE": "1"}
    tree = make_copy()
    data_file = tree / ".coverage-mutants"
    env["COVERAGE_FILE"] = str(data_file)
    command = [str(tree / ".venv" / "bin" / "python"), "-m", "pytest", "-p", "no:randomly", "--create-db",
               "-m", "not browser and not worker", "--cov-context=test", "--cov-report=",
               *[f"--cov={source}" for source in (sources or COVERAGE_SOURCES)], *(tests or [])]
    started = time.monotonic()
    try:
        result = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True, timeout=timeout)
        summary = ((result.stdout + result.stderr).strip().splitlines() or [""])[-1]
        print(summary, flush=True)
        if " error" in summary:
            # Tests that error at setup (a test database another run was creating at the same moment, a missing
            # fixture) execute nothing: their mutants would look "uncovered". Say so loudly; rebuild if many.
            print(f"# WARNING: the coverage run had errors, their tests are missing from the map: {summary}",
                  flush=True)
        import coverage

        data = coverage.CoverageData(basename=str(data_file))
        data.read()
        tests, numbers, files = [], {}, {}
        for filename in data.measured_files():
            relative = str(Path(filename).resolve().relative_to(tree.resolve()))
            lines = {}
            for line, contexts in data.contexts_by_lineno(filename).items():
                for context in contexts:
                    test = context.rsplit("|", 1)[0]
                    if not test:
                        continue
                    if test not in numbers:
                        numbers[test] = len(tests)
                        tests.append(test)
                    lines.setdefault(str(line), set()).add(numbers[test])
            files[relative] = {line: sorted(found) for line, found in lines.items()}
        Path(out).write_text(json.dumps({"tests": tests, "files": files}))
        print(f"# coverage map: {len(tests)} tests, {len(files)} files, {time.monotonic() - started:.0f}s -> {out}")
    finally:
        shutil.rmtree(tree, ignore_errors=True)


def make_copy():
    target = Path(tempfile.mkdtemp(prefix="frontdesk-mutants-"))
    ignore = shutil.ignore_patterns(".git", ".venv", ".data", "__pycache__", "node_modules", "*.pyc", "media")
    for item in ROOT.iterdir():
        if item.name in (".git", ".venv", ".data", "media"):
            continue
        if item.is_dir():
            shutil.copytree(item, target / item.name, ignore=ignore, symlinks=True)
        else:
            shutil.copy2(item, target / item.name)
    (target / ".venv").symlink_to((ROOT / ".venv").resolve())
    return target


def run_pytest(tree, paths, timeout, env):
    command = [str(tree / ".venv" / "bin" / "python"), "-m", "pytest", "-x", "-q", "-p", "no:randomly",
               "--reuse-db", "-m", "not browser and not worker", *paths]
    started = time.monotonic()
    try:
        result = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "timeout", time.monotonic() - started, ""
    lines = (result.stdout + result.stderr).strip().splitlines()
    failed = [line for line in lines if line.startswith(("FAILED ", "ERROR "))]
    tail = (failed or lines[-1:] or [""])[0][:300]
    # 0: all passed; 1: a test failed; 5: nothing collected (the selection is stale).
    status = {0: "survived", 1: "killed"}.get(result.returncode, f"error {result.returncode}")
    return status, time.monotonic() - started, tail


def _run_one(mutant, tree, env, timeout, coverage_map, tests=None):
    original = (tree / mutant.path).read_text()
    (tree / mutant.path).write_text(mutated_source(mutant, original))
    started = time.monotonic()
    try:
        status = "uncovered"
        for paths in stages_for(mutant, coverage_map, tests):
            if not paths:
                continue
            status, _seconds, tail = run_pytest(tree, paths, timeout, env)
            mutant.stages.append({"tests": len(paths), "first": paths[0], "status": status, "last_line": tail})
            if status != "survived":
                mutant.killed_by = tail if status == "killed" else ""
                break
        mutant.status = status
    finally:
        (tree / mutant.path).write_text(original)
    mutant.seconds = round(time.monotonic() - started, 1)


def run(mutants, budget, timeout, out, coverage_map=None, jobs=1, tests=None):
    """Run the mutants on `jobs` copies of the tree at once, each with its own test database."""
    import queue
    import threading

    suffix = os.environ.get("MUTANTS_DB_SUFFIX", "mutants")
    deadline = time.monotonic() + budget
    pending = queue.Queue()
    for number, mutant in enumerate(mutants, 1):
        pending.put((number, mutant))
    lock = threading.Lock()
    problems = []

    def worker(job):
        env = {**os.environ, "TEST_DB_SUFFIX": suffix if jobs == 1 else f"{suffix}{job}",
               "PYTHONDONTWRITEBYTECODE": "1"}
        tree = make_copy()
        print(f"# job {job}: copy of the tree at {tree}", flush=True)
        try:
            baseline = tests or ["tests/test_tenancy_filters.py"]
            status, _seconds, tail = run_pytest(tree, baseline, max(timeout, 1800), env)
            if status != "survived":
                problems.append(f"The unmutated tree does not pass {' '.join(baseline)} ({status}: {tail})")
                return
            while time.monotonic() < deadline:
                try:
                    number, mutant = pending.get_nowait()
                except queue.Empty:
                    return
                _run_one(mutant, tree, env, timeout, coverage_map, tests)
                with lock:
                    print(f"[{number}/{len(mutants)}] {mutant.status:9} {mutant.seconds:6.1f}s "
                          f"{mutant.path}:{mutant.line} {mutant.description}", flush=True)
                    if out:
                        Path(out).write_text(json.dumps([asdict(m) for m in mutants if m.status], indent=1))
        finally:
            shutil.rmtree(tree, ignore_errors=True)

    threads = [threading.Thread(target=worker, args=(job,)) for job in range(1, jobs + 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if problems:
        sys.exit(problems[0])
    if not pending.empty():
        print(f"# budget spent with {pending.qsize()} mutants not run", flush=True)
    return [mutant for mutant in mutants if mutant.status]


def report(done):
    by_module = {}
    for mutant in done:
        counts = by_module.setdefault((mutant.kind, mutant.path), {})
        counts[mutant.status] = counts.get(mutant.status, 0) + 1
    print("\n# score per module (kind, module: killed/total)")
    killed_total = 0
    for (kind, path), counts in sorted(by_module.items()):
        total = sum(counts.values())
        killed_total += counts.get("killed", 0)
        print(f"{kind:8} {path:40} {counts.get('killed', 0)}/{total}  {counts}")
    if done:
        print(f"\n# mutation score: {killed_total}/{len(done)} killed ({100 * killed_total / len(done):.0f}%)")
    survivors = [mutant for mutant in done if mutant.status != "killed"]
    print(f"\n# survivors ({len(survivors)})")
    for mutant in survivors:
        print(f"{mutant.status:9} {mutant.kind:8} {mutant.path}:{mutant.line} {mutant.description}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kind", choices=("tenancy", "classic", "all"), default="all")
    parser.add_argument("--path", action="append", help="only this module (repeatable)")
    parser.add_argument("--exclude-path", action="append", default=[], help="not this module (repeatable)")
    parser.add_argument("--at", action="append", default=[], help="only the mutants at module:line (repeatable)")
    parser.add_argument("--sample", type=int, help="a random sample of this many mutants")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--shuffle", action="store_true",
                        help="run the mutants in a random order (--seed): a run stopped by its budget is then a "
                             "random sample of them, not the first modules only")
    parser.add_argument("--budget", type=float, default=3600, help="seconds for the whole run")
    parser.add_argument("--timeout", type=float, default=600, help="seconds for one pytest selection")
    parser.add_argument("--out", help="write the results as JSON here (updated after each mutant)")
    parser.add_argument("--rerun", nargs="+", help="only the mutants that were not killed in these JSON results")
    parser.add_argument("--list", action="store_true", help="print the mutants and exit")
    parser.add_argument("--report", nargs="+", help="print the summary of JSON results files and exit")
    parser.add_argument("--build-coverage-map", metavar="FILE", help="run the suite under coverage, write the map")
    parser.add_argument("--coverage-map", metavar="FILE", help="run only the tests that execute each mutant")
    parser.add_argument("--jobs", type=int, default=1, help="mutants run at once, each on its own copy and database")
    parser.add_argument("--tests", action="append", default=[],
                        help="run these tests (pytest ids, repeatable) for every mutant instead of the chosen ones: "
                             "a quick check that new tests kill the mutants they were written for")
    args = parser.parse_args()

    if args.report:
        report([Mutant(**row) for name in args.report for row in json.loads(Path(name).read_text())])
        return
    if args.build_coverage_map:
        sources = sorted({path.split("/", 1)[0] for path in args.path}) if args.path else None
        build_coverage_map(args.build_coverage_map, max(args.timeout, 3600), args.tests or None, sources)
        return
    kinds = ("tenancy", "classic") if args.kind == "all" else (args.kind,)
    mutants = [mutant for mutant in all_mutants(kinds, set(args.path) if args.path else None)
               if mutant.path not in args.exclude_path
               and (not args.at or f"{mutant.path}:{mutant.line}" in args.at)]
    if args.rerun:
        alive = {(row["kind"], row["path"], row["index"], row["variant"]) for name in args.rerun
                 for row in json.loads(Path(name).read_text()) if row["status"] != "killed"}
        mutants = [m for m in mutants if (m.kind, m.path, m.index, m.variant) in alive]
    if args.sample and args.sample < len(mutants):
        mutants = sorted(random.Random(args.seed).sample(mutants, args.sample),
                         key=lambda m: (m.kind, m.path, m.index, m.variant))
    if args.shuffle:
        random.Random(args.seed).shuffle(mutants)
    if args.list:
        for mutant in mutants:
            print(f"{mutant.kind:8} {mutant.path}:{mutant.line} {mutant.description}")
        print(f"# {len(mutants)} mutants")
        return
    coverage_map = json.loads(Path(args.coverage_map).read_text()) if args.coverage_map else None
    report(run(mutants, args.budget, args.timeout, args.out, coverage_map, args.jobs, args.tests))


if __name__ == "__main__":
    main()
