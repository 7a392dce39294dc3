"""Golden logits: packing llama.cpp's dumps and comparing ours with them.

  compare.py pack DUMP.txt PREFIX
      DUMP.txt from dump_logits ("n_pos n_vocab", one row of logits per
      position, "greedy: ids") becomes PREFIX.f32 (little-endian float32,
      position after position) and PREFIX.greedy (the ids).
  compare.py check PREFIX OURS.f32 GREEDY TOL [FIRST] [SPREAD_PREFIX TIE]
      OURS.f32 holds our logits of positions FIRST.. (default 0); GREEDY is
      our "greedy: ids" line. Passes when every logit is within the
      tolerance and the greedy ids are identical. The tolerance is TOL times
      the largest golden logit; with SPREAD_PREFIX (the F32 golden of the
      same model) it is instead llama.cpp's own distance between this
      quantized model and its F32 original, TOL times that spread. Greedy
      ids may part after a pick that llama.cpp made by less than the
      tolerance (F32) or than TIE times the spread (quantized).
Prints one line with the measured figures; exit status 0 when it passes.
"""
import struct
import sys


def read_f32(path):
    with open(path, "rb") as f:
        data = f.read()
    return struct.unpack("<%df" % (len(data) // 4), data)


def pack(dump, prefix):
    with open(dump) as f:
        lines = f.read().split("\n")
    n_pos, n_vocab = map(int, lines[0].split())
    values = []
    for i in range(n_pos):
        row = [float(x) for x in lines[1 + i].split()]
        assert len(row) == n_vocab, "short row %d" % i
        values.extend(row)
    greedy = next(l for l in lines if l.startswith("greedy:"))
    gaps = next(l for l in lines if l.startswith("gaps:"))
    with open(prefix + ".f32", "wb") as f:
        f.write(struct.pack("<%df" % len(values), *values))
    with open(prefix + ".greedy", "w") as f:
        f.write(greedy.strip() + "\n" + gaps.strip() + "\n")


def check(prefix, ours_path, greedy, tol, first=0, spread_prefix=None, tie=1.0):
    gold = read_f32(prefix + ".f32")
    ours = read_f32(ours_path)
    with open(prefix + ".greedy") as f:
        lines = f.read().split("\n")
    gold_greedy = lines[0].split()[1:]
    gaps = [float(x) for x in lines[1].split()[1:]]
    offset = len(gold) - len(ours)
    if offset < 0:
        print("our logits are longer than the golden ones")
        return 1
    diff = max(abs(a - b) for a, b in zip(ours, gold[offset:]))
    largest = max(abs(x) for x in gold)
    if spread_prefix:
        ref = read_f32(spread_prefix + ".f32")
        spread = max(abs(a - b) for a, b in zip(gold, ref))
        limit = tol * spread
        tie_limit = tie * spread
        what = "llama.cpp's quantization spread %.3g" % spread
    else:
        limit = tie_limit = tol * largest
        what = "largest logit %.3g" % largest
    ours_greedy = greedy.split()[1:]
    same = 0
    while same < len(gold_greedy) and same < len(ours_greedy) \
            and ours_greedy[same] == gold_greedy[same]:
        same += 1
    # After a pick llama.cpp made by less than the tolerance, either choice is
    # right and the two continuations part ways; that is no disagreement.
    tie = same < len(gold_greedy) and gaps[same] <= tie_limit
    ok = diff <= limit and (same == len(gold_greedy) or tie)
    print("max |dlogit| %.3g (limit %.3g; %s), greedy %d/%d identical%s"
          % (diff, limit, what, same, len(gold_greedy),
             ", then a near tie (llama.cpp's gap %.3g)" % gaps[same] if tie else ""))
    return 0 if ok else 1


def main(argv):
    if len(argv) >= 4 and argv[1] == "pack":
        pack(argv[2], argv[3])
        return 0
    if len(argv) >= 6 and argv[1] == "check":
        first = int(argv[6]) if len(argv) > 6 else 0
        spread = argv[7] if len(argv) > 8 else None
        tie = float(argv[8]) if len(argv) > 8 else 1.0
        return check(argv[2], argv[3], argv[4], float(argv[5]), first, spread, tie)
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
