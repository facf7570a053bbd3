# make_numbers.py — writes the two files of chapter 10: numbers written in English words and
# the same numbers in digits, one "source<TAB>target" pair a line, each token separated by a
# space (train with --tokens words). numbers.tsv is for build/train, numbers.test.tsv is a test
# set that training never sees. Run: python3 docs/data/make_numbers.py (any language would do).
import random

ONES = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split()
TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()

def words(n):
    if n < 20:
        return [ONES[n]]
    if n < 100:
        return [TENS[n // 10]] + ([ONES[n % 10]] if n % 10 else [])
    if n < 1000:
        return [ONES[n // 100], "hundred"] + (words(n % 100) if n % 100 else [])
    return words(n // 1000) + ["thousand"] + (words(n % 1000) if n % 1000 else [])

random.seed(0)
numbers = random.sample(range(100000), 3500)
for name, part in (("numbers.tsv", numbers[:3000]), ("numbers.test.tsv", numbers[3000:])):
    with open(name, "w") as out:
        for n in part:
            out.write(" ".join(words(n)) + "\t" + " ".join(str(n)) + "\n")
