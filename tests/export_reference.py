#!/usr/bin/python3
"""Exports the fixtures of tests/test_reference.cpp from the PyTorch reference model.

The test suite never runs this script; it only reads the two files it writes:
  tests/fixtures/reference_weights.safetensors  the state_dict of a small Seq2Seq (F32),
                                                its configuration in __metadata__
  tests/fixtures/reference_outputs.safetensors  "src", "tgt" (the batch's ids, as F32),
                                                "logits" (B, T, V), "loss" (a scalar) and
                                                "grad.<name>" for every parameter
Regenerate (from the repository root; Debian's python3 with torch 1.13 is enough, the
`safetensors` package is not needed because the format is written here by hand):
  OPENBLAS_NUM_THREADS=1 /usr/bin/python3 tests/export_reference.py [--peer PATH]
Check that PyTorch loads a checkpoint that crossgrad wrote, strictly (no missing or
unexpected names, every shape equal):
  OPENBLAS_NUM_THREADS=1 /usr/bin/python3 tests/export_reference.py --check-ours FILE
The reference is ../shared/peers/torch_seq2seq.py (class Seq2Seq); --peer overrides it.
"""
import argparse, importlib.util, json, os, struct, sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import torch

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_PEER = os.path.join(REPO, "..", "shared", "peers", "torch_seq2seq.py")
FIXTURES = os.path.join(REPO, "tests", "fixtures")

# Small, so the fixtures stay small, but with two layers per stack so "layers.1" is covered.
CONFIG = dict(d_model=16, num_heads=2, d_ff=32, num_encoder_layers=2, num_decoder_layers=2,
              dropout=0.0)
# (source digits, target digits): lengths differ across rows and between source and target
# (S = 8 source columns, T = 5 decoder columns), so a transposed mask or a swapped S/T shows.
PAIRS = [([3, 1, 4, 1, 5], [5, 9]),
         ([9, 2], [2, 6, 5, 3]),
         ([6, 5, 3, 5, 8, 9, 7], [1, 8])]
SEED = 20240603


def load_peer(path):
    spec = importlib.util.spec_from_file_location("torch_seq2seq", path)
    peer = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(peer)
    return peer


def build_model(peer, config):
    return peer.Seq2Seq(config["d_model"], config["num_heads"], config["d_ff"],
                        config["num_encoder_layers"], config["num_decoder_layers"],
                        config["dropout"])


def metadata_of(peer, config):
    meta = {key: repr(value) if isinstance(value, float) else str(value)
            for key, value in config.items()}
    meta.update(vocab_size=str(peer.V), layer_norm_eps="1e-05", max_len="512",
                format="pt", exporter="tests/export_reference.py", torch=torch.__version__)
    return meta


# --- safetensors by hand: u64 little-endian header length, JSON header padded with spaces
# to a multiple of 8, then the raw little-endian data; offsets relative to the data start.
def save_file(path, tensors, metadata):
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name, tensor in tensors.items():
        data = tensor.detach().to(torch.float32).contiguous().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensor.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as out:
        out.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def load_file(path):
    """The tensors of a safetensors file (F32/F64) and its metadata."""
    import numpy
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    metadata = header.pop("__metadata__", {})
    data, tensors = raw[8 + n:], {}
    for name, info in header.items():
        dtype = {"F32": "<f4", "F64": "<f8"}[info["dtype"]]
        begin, end = info["data_offsets"]
        array = numpy.frombuffer(data[begin:end], dtype=dtype).reshape(info["shape"])
        tensors[name] = torch.from_numpy(array.astype(numpy.float32))
    return tensors, metadata


# --- the fixtures ---
def perturb(model):
    """Moves every parameter off its initial value: LayerNorm weights away from 1, every bias
    away from 0, so no term of the comparison is trivially equal."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.add_(0.2 * torch.randn_like(p))


def export(peer_path):
    peer = load_peer(peer_path)
    torch.manual_seed(SEED)
    model = build_model(peer, CONFIG)
    perturb(model)
    model.train()  # eval() with padding masks may take the nested-tensor fast path
    src, tgt = peer.batchify(PAIRS)
    tgt_in, labels = tgt[:, :-1], tgt[:, 1:]
    logits = model(src, tgt_in)
    loss = torch.nn.CrossEntropyLoss(ignore_index=peer.PAD)(
        logits.reshape(-1, peer.V), labels.reshape(-1))
    model.zero_grad(set_to_none=True)
    loss.backward()

    state = model.state_dict()
    params = dict(model.named_parameters())
    assert list(state) == list(params), "the state_dict holds exactly the parameters"
    missing = [name for name, p in params.items() if p.grad is None]
    assert not missing, f"parameters without a gradient: {missing}"

    os.makedirs(FIXTURES, exist_ok=True)
    weights = os.path.join(FIXTURES, "reference_weights.safetensors")
    outputs = os.path.join(FIXTURES, "reference_outputs.safetensors")
    meta = metadata_of(peer, CONFIG)
    save_file(weights, state, meta)
    out = {"src": src.float(), "tgt": tgt.float(), "logits": logits, "loss": loss}
    out.update({"grad." + name: p.grad for name, p in params.items()})
    save_file(outputs, out, meta)
    count = sum(p.numel() for p in params.values())
    print(f"{len(params)} parameter tensors ({count} values), src {tuple(src.shape)}, "
          f"tgt {tuple(tgt.shape)}, logits {tuple(logits.shape)}, loss {loss.item():.6f}")
    for path in (weights, outputs):
        print(f"wrote {os.path.relpath(path, REPO)} ({os.path.getsize(path)} bytes)")


def check_ours(peer_path, path):
    """Loads a checkpoint crossgrad wrote into the reference with strict=True."""
    peer = load_peer(peer_path)
    tensors, metadata = load_file(path)
    config = dict(d_model=64, num_heads=4, d_ff=256, num_encoder_layers=2,
                  num_decoder_layers=2, dropout=0.0)
    # A checkpoint of build/train keeps its configuration as JSON under "config"; the
    # fixtures written above keep it as top-level strings.
    given = json.loads(metadata["config"]) if "config" in metadata else metadata
    for key in config:
        if key in given:
            config[key] = type(config[key])(float(given[key]) if key == "dropout"
                                            else int(given[key]))
    if "vocab_size" in given:  # the reference sizes its embeddings by its global V
        peer.V = int(given["vocab_size"])
    model = build_model(peer, config)
    result = model.load_state_dict(tensors, strict=True)  # raises on any mismatch
    state = model.state_dict()
    equal = all(torch.equal(state[name], tensors[name]) for name in tensors)
    count = sum(p.numel() for p in model.parameters())
    print(f"{path}: load_state_dict(strict=True) ok ({result}); config {config}; "
          f"{len(tensors)} tensors, {count} parameters; values equal after loading: {equal}")
    return 0 if equal else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--peer", default=DEFAULT_PEER, help="path of torch_seq2seq.py")
    parser.add_argument("--check-ours", metavar="FILE",
                        help="load a crossgrad checkpoint into the reference, strictly")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.check_ours:
        return check_ours(args.peer, args.check_ours)
    export(args.peer)
    return 0


if __name__ == "__main__":
    sys.exit(main())
