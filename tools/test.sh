#!/usr/bin/env bash
# Runs the whole tscni test suite (unit and kernel projects; kernel tests need root) after setting
# the machine up, then prints one summary line `N passed, N failed, N skipped` read from vitest's
# JSON report. Exits non-zero when any test or test file fails.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

bash tools/setup.sh

report="$(mktemp --suffix=.json)"
trap 'rm -f "$report"' EXIT

echo "==> lint (package boundaries) and typecheck"
node tools/lint.mjs
pnpm exec tsc -b

echo "==> vitest run (unit + kernel)"
status=0
pnpm exec vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@" || status=$?

if [[ ! -s "$report" ]]; then
  echo "test: vitest wrote no JSON report (exit status $status)" >&2
  echo "0 passed, 1 failed, 0 skipped"
  exit 1
fi

# A test file that fails to load has no failed test in it; count it as one failure so the summary
# never reads 0 failed while vitest failed.
summary="$(node -e '
  const r = JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8"));
  const brokenFiles = (r.testResults ?? []).filter(
    (f) => f.status === "failed" && !(f.assertionResults ?? []).some((a) => a.status === "failed"),
  ).length;
  const passed = r.numPassedTests ?? 0;
  const failed = (r.numFailedTests ?? 0) + brokenFiles;
  const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
' "$report")"

echo "$summary"
if ((status != 0)) || [[ "$summary" != *" 0 failed,"* ]]; then
  exit 1
fi
