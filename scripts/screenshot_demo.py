"""
Screenshot of the running `hf-rnn demo` page with headless Chromium (Debian package `chromium`), for the README.

    python scripts/screenshot_demo.py --model_name_or_path DIR [--output docs/images/demo.png] [--text TEXT]

The page is served on loopback from this process, opened once by Chromium (a new profile in a temporary folder, no
network beyond loopback), and captured after its load events have filled in the labels and the words' weights.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from hf_rnn import demo as demo_module
from hf_rnn.inference import load_classifier
from hf_rnn.threads import configure_threads

REPO_ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    raise SystemExit("screenshot_demo.py: no Chromium found; on Debian: apt-get install -y chromium")


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model_name_or_path", required=True, help="Saved model directory (PyTorch or exported).")
    parser.add_argument("--output", type=Path, default=REPO_ROOT / "docs" / "images" / "demo.png")
    parser.add_argument("--text", default=demo_module.DEFAULT_TEXT, help="Text the page opens with.")
    parser.add_argument("--title", default=None, help="Title of the page.")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=760)
    parser.add_argument("--wait_ms", type=int, default=20000, help="Virtual time the page gets before the capture.")
    args = parser.parse_args(argv)
    configure_threads(1)
    demo_module.DEFAULT_TEXT = args.text
    model, tokenizer = load_classifier(args.model_name_or_path)
    demo = demo_module.build_demo(model, tokenizer, title=args.title)
    demo.queue().launch(server_name="127.0.0.1", prevent_thread_lock=True, quiet=True)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    try:
        with tempfile.TemporaryDirectory(prefix="hf_rnn-chromium-") as profile:
            command = [
                chromium(),
                *CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
                f"--window-size={args.width},{args.height}",
                f"--virtual-time-budget={args.wait_ms}",
                f"--screenshot={args.output.resolve()}",
                demo.local_url,
            ]
            subprocess.run(command, check=True, capture_output=True, timeout=120)
    finally:
        demo.close()
    if not args.output.is_file():
        raise SystemExit(f"screenshot_demo.py: Chromium wrote no {args.output}")
    print(args.output)
    return args.output


if __name__ == "__main__":
    sys.exit(main() is None)
