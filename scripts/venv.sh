# Sourced by the scripts that keep pinned Python tools in a virtualenv (gitignored):
#
#   venv_with_requirements DIR REQUIREMENTS STAMP [TOOL]
#
# Creates the virtualenv DIR when it is missing, and installs REQUIREMENTS into it when that
# file changed since the install STAMP records (the file's sha256), or when TOOL (a program
# of DIR/bin) is missing. Logs through the sourcing script's `log`.
venv_with_requirements() {
  local venv="$1" requirements="$2" stamp="$3" tool="${4:-}" want have=""
  if [ ! -x "$venv/bin/python" ]; then
    log "creating $venv"
    python3 -m venv "$venv"
  fi
  want="$(sha256sum "$requirements" | cut -d' ' -f1)"
  [ -f "$stamp" ] && have="$(cat "$stamp")"
  if [ "$want" != "$have" ] || { [ -n "$tool" ] && [ ! -x "$venv/bin/$tool" ]; }; then
    log "installing $requirements into $venv"
    "$venv/bin/pip" install --quiet -r "$requirements"
    echo "$want" >"$stamp"
  fi
}
