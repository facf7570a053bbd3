#!/usr/bin/env python3
"""crossgrad's standard model and training step, in PyTorch: the yardstick of `make bench`.

The same Seq2Seq as nn::Seq2SeqTransformer (pre-LN nn.Transformer, d_model 64, 4 heads,
ff 256, 2 + 2 layers, ReLU, dropout 0, sinusoidal positions after scaling embeddings by
sqrt(d_model), untied generator: 236,237 parameters; state_dict names match crossgrad's
checkpoints), the same task (reversal, digits, lengths 1..16, PAD=0 BOS=1 EOS=2, digits 3..12)
and the same step: forward, cross-entropy ignoring PAD, zero_grad(set_to_none=True),
backward, clip_grad_norm_(1.0), Adam(lr 1e-3, betas 0.9/0.98, eps 1e-9).

    python3 examples/pytorch/seq2seq_twin.py --threads 1 --steps 35
prints one JSON line: the median step time after 5 warm-up steps, the parameter count, the
first and last loss, and which BLAS library the process loaded (a ratio against PyTorch
without OpenBLAS measures the reference BLAS, not PyTorch: Debian's python3-torch needs
libopenblas0-pthread for that). `--check-peer FILE` also builds another implementation of
the model (a file defining Seq2Seq, with the same constructor as here) from the same seed
and reports whether both count the same parameters and give the same loss on one batch.
"""
import argparse, json, math, os, random, statistics, sys, time

# OpenBLAS's own threads on top of PyTorch's would oversubscribe the cores: one BLAS thread
# per PyTorch thread is PyTorch's best configuration here.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import torch
import torch.nn as nn

PAD, BOS, EOS, FIRST_DIGIT = 0, 1, 2, 3
VOCAB = FIRST_DIGIT + 10


def reversal_batch(rng, batch, max_len):
    """src (B, S) = digits + EOS; tgt (B, T) = BOS + reversed digits + EOS; PAD-filled."""
    pairs = []
    for _ in range(batch):
        digits = [rng.randrange(10) for _ in range(rng.randint(1, max_len))]
        pairs.append((digits, digits[::-1]))
    S = max(len(s) for s, _ in pairs) + 1
    T = max(len(t) for _, t in pairs) + 2
    src = torch.full((batch, S), PAD, dtype=torch.long)
    tgt = torch.full((batch, T), PAD, dtype=torch.long)
    for i, (s, t) in enumerate(pairs):
        src[i, :len(s) + 1] = torch.tensor([d + FIRST_DIGIT for d in s] + [EOS])
        tgt[i, :len(t) + 2] = torch.tensor([BOS] + [d + FIRST_DIGIT for d in t] + [EOS])
    return src, tgt


class PositionalEncoding(nn.Module):
    def __init__(self, d_model, max_len=512):
        super().__init__()
        pe = torch.zeros(max_len, d_model)
        position = torch.arange(max_len).unsqueeze(1)
        rate = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
        pe[:, 0::2] = torch.sin(position * rate)
        pe[:, 1::2] = torch.cos(position * rate)
        self.register_buffer("pe", pe, persistent=False)

    def forward(self, x):
        return x + self.pe[: x.size(1)]


class Seq2Seq(nn.Module):
    def __init__(self, d_model=64, num_heads=4, d_ff=256, num_encoder_layers=2,
                 num_decoder_layers=2, dropout=0.0):
        super().__init__()
        self.d_model = d_model
        self.src_embed = nn.Embedding(VOCAB, d_model)
        self.tgt_embed = nn.Embedding(VOCAB, d_model)
        self.pos = PositionalEncoding(d_model)
        self.transformer = nn.Transformer(d_model, num_heads, num_encoder_layers,
                                          num_decoder_layers, d_ff, dropout, batch_first=True,
                                          norm_first=True)
        self.generator = nn.Linear(d_model, VOCAB)

    def forward(self, src, tgt_in):
        src_pad, tgt_pad = src == PAD, tgt_in == PAD
        causal = self.transformer.generate_square_subsequent_mask(tgt_in.size(1))
        x = self.pos(self.src_embed(src) * math.sqrt(self.d_model))
        y = self.pos(self.tgt_embed(tgt_in) * math.sqrt(self.d_model))
        h = self.transformer(x, y, tgt_mask=causal, src_key_padding_mask=src_pad,
                             tgt_key_padding_mask=tgt_pad, memory_key_padding_mask=src_pad)
        return self.generator(h)


def loaded_blas():
    """The BLAS shared library this process mapped (after a matmul has run)."""
    torch.ones(64, 64) @ torch.ones(64, 64)
    try:
        with open("/proc/self/maps") as maps:
            names = {line.split()[-1] for line in maps if "blas" in line.lower()}
    except OSError:
        return "unknown (no /proc/self/maps)"
    for name in sorted(names):
        if "openblas" in os.path.basename(name).lower():
            return "openblas: " + name
    return "other: " + (", ".join(sorted(names)) or "none found")


def step_loss(model, src, tgt):
    logits = model(src, tgt[:, :-1])
    return nn.functional.cross_entropy(logits.reshape(-1, VOCAB), tgt[:, 1:].reshape(-1),
                                       ignore_index=PAD)


def check_peer(path, seed, batch):
    """Same parameter count and same loss at step 0, from the same seed and batch."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("peer", path)
    peer = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(peer)
    results = {}
    for name, make in (("twin", Seq2Seq), ("peer", peer.Seq2Seq)):
        torch.manual_seed(seed)
        model = make()
        with torch.no_grad():
            loss = step_loss(model, *batch).item()
        results[name] = (sum(p.numel() for p in model.parameters()), loss)
    return {"peer": path, "params_equal": results["twin"][0] == results["peer"][0],
            "loss_twin": results["twin"][1], "loss_peer": results["peer"][1],
            "loss_equal": results["twin"][1] == results["peer"][1]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--steps", type=int, default=35, help="timed steps include 5 warm-up")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--max-len", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--check-peer", metavar="FILE")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    batches = [reversal_batch(rng, args.batch, args.max_len) for _ in range(args.steps)]
    model = Seq2Seq()
    adam = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.98), eps=1e-9)
    times, losses = [], []
    for src, tgt in batches:  # the clock runs from forward to Adam's update, as in build/bench
        start = time.perf_counter()
        loss = step_loss(model, src, tgt)
        adam.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        adam.step()
        times.append(time.perf_counter() - start)
        losses.append(loss.item())
    timed = times[5:] if len(times) > 5 else times
    report = {"torch": torch.__version__, "threads": args.threads,
              "params": sum(p.numel() for p in model.parameters()), "steps": len(timed),
              "step_ms_median": 1000 * statistics.median(timed), "loss_first": losses[0],
              "loss_last": losses[-1], "blas": loaded_blas()}
    if args.check_peer:
        report["check_peer"] = check_peer(args.check_peer, args.seed, batches[0])
    print(json.dumps(report))


if __name__ == "__main__":
    main()
