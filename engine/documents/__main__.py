"""`python -m engine.documents [OUT_DIR]`: render the sample documents' previews (docs/documents)."""

import sys
from pathlib import Path

from engine.documents.samples import render_samples

for path in render_samples(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/documents")):
    print(f"{path}  {path.stat().st_size // 1024} KB")
