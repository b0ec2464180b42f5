#!/usr/bin/env python3
"""Writes the challenge's workload files (workloads/*.json) from the trained model's validation text.

The prompts are the contexts of golden/eval/bible-cloze.jsonl: verses of the two Bibles that
chapter 11 held out from training. Each prompt is stored as its text and as its ids, encoded by
chapter 02's tokenizer with the trained model's vocabulary (build/bin/chapter02_tokenizer must
exist), so the challenge program can check that the tokenizer still encodes the text the same way.

    python3 bench/challenge/make_workloads.py [--build build]
"""
import argparse
import json
import pathlib
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[2]


def contexts():
    with open(ROOT / "golden/eval/bible-cloze.jsonl", encoding="utf-8") as f:
        return [json.loads(line)["context"] for line in f if line.strip()]


def encode(texts, build):
    result = subprocess.run(
        [str(ROOT / build / "bin/chapter02_tokenizer"), "--tokenizer",
         str(ROOT / "golden/llama4-bible/tokenizer.tiktoken"), "--encode-json", "-", "--bos"],
        input=json.dumps(texts), capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


def workload(name, description, texts, ids, new_tokens, batch_sizes, accuracy):
    prompts = []
    for i, (text, token_ids) in enumerate(zip(texts, ids)):
        prompts.append({"text": text, "ids": token_ids,
                        "max_new_tokens": new_tokens[i % len(new_tokens)]})
    return {"format": "llama4-challenge-workload", "version": 1, "name": name,
            "description": description, "model": "chapter11-trained", "context_length": 1024,
            "batch_sizes": batch_sizes, "accuracy": accuracy, "prompts": prompts}


def write(path, document):
    # One prompt per line: a reviewer sees which prompt a change touched.
    lines = json.dumps({k: v for k, v in document.items() if k != "prompts"}, indent=2,
                       ensure_ascii=False)[:-2]
    lines += ',\n  "prompts": [\n'
    lines += ",\n".join("    " + json.dumps(p, ensure_ascii=False) for p in document["prompts"])
    lines += "\n  ]\n}\n"
    json.loads(lines)  # still JSON
    path.write_text(lines, encoding="utf-8")
    print(f"wrote {path}: {len(document['prompts'])} prompts")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default="build", help="the build folder (default build)")
    args = parser.parse_args()
    texts = contexts()
    ids = encode(texts, args.build)
    out = ROOT / "bench/challenge/workloads"
    out.mkdir(exist_ok=True)
    # Bounds that 8-bit weights meet on this model and 4-bit weights do not (bench/RESULTS.md):
    # Q8_0's first 4 greedy tokens match f32's on every prompt (its 5th does not on one), its mean KL
    # is 2.7e-4 nats; Q4_0's and Q4_1's is 0.02.
    accuracy = {"identical_greedy_tokens": 4, "max_mean_kl": 0.002, "min_top1_agreement": 0.98,
                "max_perplexity_ratio": 1.01}
    small = slice(0, 200, 12)  # 17 prompts spread over the held-out books
    write(out / "small.json", workload(
        "small", "17 held-out verses, 24 to 48 new tokens each, on chapter 11's trained model: "
        "under a minute on a 2-core CPU", texts[small], ids[small], [24, 32, 40, 48],
        [1, 4, 8], accuracy))
    write(out / "large.json", workload(
        "large", "all 200 held-out verses, 128 to 256 new tokens each, on chapter 11's trained "
        "model: for a GPU node", texts, ids, [128, 192, 256], [1, 8, 32, 64, 128], accuracy))


if __name__ == "__main__":
    main()
