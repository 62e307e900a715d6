# Sourced by scripts/bootstrap.sh when SPAM_LLMS_ENV=system: a notebook's own Python (Kaggle, Colab) with its CUDA torch,
# transformers, pandas ... kept. A venv that sees the running interpreter's packages goes OUTSIDE the repository and the
# working folder (SPAM_LLMS_VENV, default $TMPDIR/spam_llms_env): it is not saved with the notebook's outputs. The
# versions found are checked against requirements-runtime.txt's ranges (scripts/offline_env.py check: a version outside
# its range stops here naming the package, the version and the range), and only the missing requirements are installed
# (offline: PIP_NO_INDEX=1 PIP_FIND_LINKS=<wheels folder>). The repository itself goes on the path (read-only is fine:
# /kaggle/input), with the `spam_run` command and a `python3` kernel that is this venv's Python.
venv="${SPAM_LLMS_VENV:-${TMPDIR:-/tmp}/spam_llms_env}"
case "$(realpath -m "$venv")/" in
  "$root/"*) echo "[bootstrap] SPAM_LLMS_VENV=$venv is inside the repository; put it outside (e.g. under /tmp)" >&2; exit 1;;
esac
if [ ! -x "$venv/bin/python" ]; then
  echo "[bootstrap] system mode: creating $venv over $("$py" -c 'import sys; print(sys.executable)') ($("$py" --version)), whose packages it keeps"
  # the running Python's own site folders go in through a .pth file; --system-site-packages only where it is no venv itself
  # (a venv made from a venv would see the base interpreter's packages, not the running one's)
  "$py" -m venv $("$py" -c 'import sys; print("" if sys.prefix != sys.base_prefix else "--system-site-packages")') --without-pip "$venv"
  "$py" - "$venv" <<'PY'
import site, sys, sysconfig
from pathlib import Path
dirs = [d for d in site.getsitepackages() + [site.getusersitepackages()] if Path(d).is_dir()]
pure = Path(sys.argv[1], "lib", f"python{sys.version_info[0]}.{sys.version_info[1]}", "site-packages")
(pure/"_spam_llms_base.pth").write_text("import site; " + "; ".join(f"site.addsitedir({d!r})" for d in dirs) + "\n")  # one line: .pth rules
PY
fi
stamp="$venv/.spam_llms-installed"
want="$(cat "$root/requirements-runtime.txt" "$root/setup.py" "$root/settings.ini" | sha1sum | cut -c1-16) $root"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  missing="$venv/.missing.txt"
  "$venv/bin/python" "$root/scripts/offline_env.py" check --missing-out "$missing"
  if [ -s "$missing" ]; then
    echo "[bootstrap] installing the missing ones${PIP_FIND_LINKS:+ from $PIP_FIND_LINKS}${PIP_NO_INDEX:+ (no index: offline)}: $(tr '\n' ' ' < "$missing")"
    t0=$SECONDS
    "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$missing"
    "$venv/bin/python" "$root/scripts/offline_env.py" check --missing-out "$missing" > /dev/null  # pip may have moved a version
    echo "[bootstrap] installed in $((SECONDS - t0)) s: $("$venv/bin/python" -m pip list --disable-pip-version-check --path "$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" --format=freeze 2>/dev/null | tr '\n' ' ')"
  fi
  "$venv/bin/python" - "$root" "$venv" <<'PY'
import json, sys, sysconfig
from pathlib import Path
root, venv = Path(sys.argv[1]), Path(sys.argv[2])
Path(sysconfig.get_paths()["purelib"], "spam_llms_repo.pth").write_text(f"{root}\n")  # the package, read from the repository
run = venv/"bin"/"spam_run"; run.write_text(f"#!{venv}/bin/python\nimport sys\nfrom spam_llms.pipeline import main\nsys.exit(main())\n"); run.chmod(0o755)
k = venv/"share"/"jupyter"/"kernels"/"python3"; k.mkdir(parents=True, exist_ok=True)  # papermill's python3 kernel: this venv's Python
(k/"kernel.json").write_text(json.dumps({"argv": [f"{venv}/bin/python", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                                         "display_name": "Python 3 (spam_llms)", "language": "python"}, indent=1))
import torch; print(f"[bootstrap] torch {torch.__version__} from {Path(torch.__file__).parent.parent} (CUDA: {torch.version.cuda or 'none'})")
PY
  echo "$want" > "$stamp"
fi
export JUPYTER_PATH="$venv/share/jupyter${JUPYTER_PATH:+:$JUPYTER_PATH}"
