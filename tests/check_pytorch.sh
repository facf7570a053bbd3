#!/bin/sh
# Optional: PyTorch loads crossgrad's committed checkpoints with load_state_dict(strict=True)
# and computes the same logits (docs/11-graduating-to-pytorch.md). make test never needs
# Python: without a python3 that can `import torch`, this prints why it skips and succeeds.
# Usage: tests/check_pytorch.sh BUILD_DIR   (build/11_pytorch_logits must be built)
set -u
OUT=$1
python=
for candidate in ${PYTHON:-python3 /usr/bin/python3}; do
  if "$candidate" -c "import torch" > /dev/null 2>&1; then python=$candidate; break; fi
done
if [ -z "$python" ]; then
  echo "skipped: no python3 here can 'import torch' (PYTHON=/path/to/python3 names one)"
  exit 0
fi
mkdir -p "$OUT"
failures=0
for pair in "docs/models/reverse.safetensors 31415926" "docs/models/numbers.safetensors seven_thousand_fifty_eight"; do
  checkpoint=${pair% *}
  input=$(echo "${pair#* }" | tr _ ' ')
  logits="$OUT/$(basename "$checkpoint" .safetensors).logits.safetensors"
  if ! build/11_pytorch_logits "$checkpoint" "$input" "$logits" > "$logits.log" 2>&1 ||
     ! "$python" examples/pytorch/load_checkpoint.py "$checkpoint" "$logits" > "$logits.torch.log" 2>&1; then
    echo "PyTorch check of $checkpoint failed:"; cat "$logits.log" "$logits.torch.log" 2>/dev/null
    failures=$((failures + 1))
  else
    tail -1 "$logits.torch.log" | sed "s|^ *|$checkpoint: |"
  fi
done
[ $failures -eq 0 ]
