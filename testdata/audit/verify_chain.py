#!/usr/bin/env python3
"""Verifies a guard audit log without guard: python3 verify_chain.py audit.jsonl [audit.head]

Each line is a JSON object. Its `hash` is the SHA-256 (hex) of the line's canonical form: the
object without `hash`, keys sorted, no spaces, UTF-8. `prev` is the previous record's hash
(64 zeros for the first), `seq` counts from 0. A non-JSON line is only allowed right before a
`recovery` record whose `torn_sha256` is that line's SHA-256 (a write torn by a crash).
"""
import hashlib, json, sys

def main(log_path, head_path=None):
    prev, seq, torn = "0" * 64, 0, None
    with open(log_path, "rb") as f:
        for n, raw in enumerate(f.read().split(b"\n")[:-1], 1):
            try:
                rec = json.loads(raw)
            except ValueError:
                if torn is not None:
                    return f"line {torn[0]}: not a record"
                torn = (n, hashlib.sha256(raw).hexdigest())
                continue
            h = rec.pop("hash", None)
            canon = json.dumps(rec, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            if hashlib.sha256(canon.encode()).hexdigest() != h:
                return f"line {n}: hash does not match content"
            if torn is not None and (rec.get("kind") != "recovery" or rec.get("torn_sha256") != torn[1]):
                return f"line {torn[0]}: not a record"
            torn = None
            if rec.get("seq") != seq or rec.get("prev") != prev:
                return f"line {n}: out of sequence (expected seq {seq})"
            if rec.get("kind") == "tamper":
                return f"line {n}: guard recorded tampering: {rec.get('detail')}"
            prev, seq = h, seq + 1
    if head_path:
        head = json.load(open(head_path))
        if head["seq"] > seq - 1:
            return f"head says seq {head['seq']}, log ends at {seq - 1}: lines deleted"
    print(f"ok: {seq} records")
    return None

if __name__ == "__main__":
    err = main(*sys.argv[1:3])
    if err:
        print(err, file=sys.stderr)
        sys.exit(65)
