#!/usr/bin/env python3
"""Loads a crossgrad checkpoint into PyTorch and compares the logits of both frameworks.

    build/11_pytorch_logits docs/models/reverse.safetensors 31415926 /tmp/crossgrad_logits.safetensors
    python3 examples/pytorch/load_checkpoint.py docs/models/reverse.safetensors /tmp/crossgrad_logits.safetensors

Reads the model's configuration from the checkpoint's __metadata__ ("config", a JSON object
that crossgrad writes), builds the PyTorch twin of the model (examples/pytorch/seq2seq_twin.py,
whose state_dict names are crossgrad's) with that configuration, loads the weights with
load_state_dict(strict=True) (an error on any missing, unexpected or mis-shaped tensor), runs
the batch that build/11_pytorch_logits saved (src and tgt_in) through it and prints the
largest |difference| between PyTorch's logits and crossgrad's. Exit status 1 when it exceeds
--tolerance. Needs only torch (1.13 or later); the safetensors files are read here by hand.
"""
import argparse, json, os, struct, sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import seq2seq_twin  # noqa: E402  (the path above makes it importable)


def read_safetensors(path):
    """{name: float32 tensor} and the __metadata__ dict of a safetensors file (F32 or F64)."""
    with open(path, "rb") as f:
        raw = f.read()
    (length,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + length])
    metadata = header.pop("__metadata__", {})
    data, tensors = raw[8 + length:], {}
    for name, info in header.items():
        dtype = {"F32": torch.float32, "F64": torch.float64}[info["dtype"]]
        begin, end = info["data_offsets"]
        values = torch.frombuffer(bytearray(data[begin:end]), dtype=dtype) if end > begin \
            else torch.zeros(0, dtype=dtype)
        tensors[name] = values.reshape(info["shape"]).to(torch.float32)
    return tensors, metadata


def build_twin(config):
    """The PyTorch twin with the checkpoint's sizes and special ids."""
    # The twin reads its vocabulary size and padding id from module constants.
    seq2seq_twin.VOCAB = config["vocab_size"]
    seq2seq_twin.PAD = config["pad_id"]
    model = seq2seq_twin.Seq2Seq(config["d_model"], config["num_heads"], config["d_ff"],
                                 config["num_encoder_layers"], config["num_decoder_layers"],
                                 float(config["dropout"]))
    return model.eval()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("checkpoint", help="a .safetensors file written by build/train")
    parser.add_argument("logits", help="the file build/11_pytorch_logits wrote: src, tgt_in, logits")
    parser.add_argument("--tolerance", type=float, default=1e-4)
    args = parser.parse_args()
    torch.set_num_threads(1)

    weights, metadata = read_safetensors(args.checkpoint)
    if "config" not in metadata:
        sys.exit(f"{args.checkpoint}: no model configuration in __metadata__ (not a crossgrad checkpoint?)")
    config = json.loads(metadata["config"])
    model = build_twin(config)
    result = model.load_state_dict(weights, strict=True)  # raises on any mismatch
    count = sum(p.numel() for p in model.parameters())
    print(f"{args.checkpoint}: load_state_dict(strict=True): {result}")
    print(f"  {len(weights)} tensors, {count:,} parameters, d_model {config['d_model']}, "
          f"vocabulary {config['vocab_size']}")

    batch, _ = read_safetensors(args.logits)
    src, tgt_in = batch["src"].long(), batch["tgt_in"].long()
    with torch.no_grad():
        logits = model(src, tgt_in)
    difference = (logits - batch["logits"]).abs().max().item()
    same_argmax = torch.equal(logits.argmax(-1), batch["logits"].argmax(-1))
    print(f"  logits {tuple(logits.shape)}: max |PyTorch - crossgrad| = {difference:.2e}, "
          f"the same most likely token at every position: {same_argmax}")
    return 0 if difference <= args.tolerance and same_argmax else 1


if __name__ == "__main__":
    sys.exit(main())
