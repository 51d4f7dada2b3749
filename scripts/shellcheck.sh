#!/usr/bin/env bash
# Summary: `npm run lint:sh`: shellcheck on every shell script of the repository: tracked *.sh files and every
#          tracked file whose first line is a bash shebang (the stand-ins are named after commands, .ci/run has no
#          extension). Run from the repo root: the `# shellcheck source=` directives are repo-relative.
# Inputs:  none (git ls-files lists the scripts, so untracked files and node_modules are left out).
# Exit codes: 0 no finding, 1 a finding (shellcheck's output says where), 2 shellcheck or git is missing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

main() {
  local file first files=()
  command -v shellcheck >/dev/null || { echo "lint:sh: shellcheck is not installed (apt-get install shellcheck)" >&2; exit 2; }
  while IFS= read -r -d '' file; do
    [[ -f "$file" ]] || continue
    first=''
    IFS= read -r first <"$file" || true
    if [[ "$file" == *.sh || "$first" =~ ^'#!'.*[/\ ]bash ]]; then files+=("$file"); fi
  done < <(git ls-files -z)
  echo "lint:sh: shellcheck on ${#files[@]} scripts"
  shellcheck -x -s bash "${files[@]}"
}

main "$@"
