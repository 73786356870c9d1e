#!/usr/bin/python3
"""Benchmark peer: vsmartcard's Python card emulator (virtualsmartcard), driven in-process.

Builds the card that `vicc -t iso7816` builds -- ``Iso7816OS(MF, SAM)`` from
``CardGenerator('iso7816')`` -- adds a transparent EF 0101 (SFI 1, 1024 bytes, byte i = i & 0xFF,
the same as chipwright's bench card) and calls ``Iso7816OS.execute(apdu)`` in a timed loop. No
vpcd, no sockets: the figure is the card OS alone, like chipwright's ``card.transmit``.

Runs with Debian's python3-virtualsmartcard and python3-pycryptodome under /usr/bin/python3
(stdlib only otherwise). The Debian package installs under a path that is not on sys.path and
imports ``Crypto`` (PyCrypto's name) while Debian ships pycryptodome as ``Cryptodome``; both are
bridged below.

Two modes, both answering JSON on stdout:

  vsmartcard_bench.py --serve
      One JSON request per stdin line, one JSON answer line each (used by bench/vsmartcard.ts so
      that chipwright and this peer can alternate rounds in one run):
        {"op": "check", "apdu": "00A4000C023F00"}            -> {"response": "9000"}
        {"op": "rate", "setup": [HEX...], "loop": [HEX...], "ms": 1000}
                                                             -> {"rate": APDUs per second}
      The first line written is {"ready": true, "peer": "..."} or {"error": "..."}.

  vsmartcard_bench.py [--ms 1000] [--rounds 5] [--setup HEX]... APDU_HEX...
      Times the given APDUs (one loop iteration sends each once) and prints
      {"peer": ..., "apdus": [...], "rates": [...], "median": ...} in APDUs per second.
"""
import importlib
import json
import logging
import os
import statistics
import sys
import time

DEBIAN_PATH = "/usr/lib/python3/site-packages/virtualsmartcard"
EF_FID = 0x0101
EF_SFI = 1
EF_SIZE = 1024


def _import_vsmartcard():
    """Imports the emulator, bridging the Debian packaging gaps described in the module doc."""
    if DEBIAN_PATH not in sys.path:
        sys.path.append(DEBIAN_PATH)
    # virtualsmartcard.CryptoUtils does `from Crypto.Cipher import ...` / `from Crypto.Hash import
    # HMAC, SHA` at import time (its fallback imports Python 2's `sha`, so it must succeed).
    import Cryptodome
    sys.modules.setdefault("Crypto", Cryptodome)
    for sub in ("Cipher", "Cipher.DES3", "Cipher.DES", "Cipher.AES", "Cipher.ARC4",
                "Hash", "Hash.HMAC", "Hash.SHA", "Hash.MD5",
                "PublicKey", "PublicKey.RSA", "PublicKey.DSA", "Util", "Util.number"):
        sys.modules.setdefault("Crypto." + sub, importlib.import_module("Cryptodome." + sub))
    from virtualsmartcard.CardGenerator import CardGenerator
    from virtualsmartcard.SmartcardFilesystem import TransparentStructureEF
    from virtualsmartcard.VirtualSmartcard import Iso7816OS
    return CardGenerator, TransparentStructureEF, Iso7816OS


def make_card():
    """The card `vicc -t iso7816` emulates, plus one transparent EF to read."""
    CardGenerator, TransparentStructureEF, Iso7816OS = _import_vsmartcard()
    mf, sam = CardGenerator("iso7816").getCard()
    data = bytes(i & 0xFF for i in range(EF_SIZE))
    mf.append(TransparentStructureEF(parent=mf, fid=EF_FID, shortfid=EF_SFI, data=data))
    os_ = Iso7816OS(mf, sam)  # what VirtualICC builds for card_type "iso7816"
    os_.powerUp()
    return os_


def rate(execute, setup, loop, ms):
    """APDUs per second of `loop` (each APDU once per iteration) for about `ms` milliseconds.

    Same shape as bench/lib.ts `rate`: warm-up, then batches of 100 iterations between clock reads.
    """
    for apdu in setup:
        execute(apdu)
    if len(loop) == 1:
        a = loop[0]

        def body():
            for _ in range(100):
                execute(a)
    elif len(loop) == 2:
        a, b = loop

        def body():
            for _ in range(100):
                execute(a)
                execute(b)
    else:
        def body():
            for _ in range(100):
                for apdu in loop:
                    execute(apdu)
    body()  # warm caches; CPython has no JIT to warm
    clock = time.perf_counter_ns
    start = clock()
    deadline = start + int(ms * 1e6)
    now = start
    calls = 0
    while now < deadline:
        body()
        calls += 100
        now = clock()
    return calls * len(loop) / ((now - start) / 1e9)


def peer_name():
    return "vsmartcard %s (Python %s)" % (_package_version(), sys.version.split()[0])


def _package_version():
    try:
        from importlib.metadata import version
        return version("virtualsmartcard")
    except Exception:  # the Debian package ships no dist-info
        pass
    try:
        with open("/usr/share/doc/python3-virtualsmartcard/changelog.Debian.gz", "rb") as f:
            import gzip
            first = gzip.decompress(f.read()).split(b"\n", 1)[0].decode()
        return first.split("(", 1)[1].split(")", 1)[0]  # "3.3+dfsg-2"
    except Exception:
        return "unknown version"


def _out(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def serve():
    try:
        card = make_card()
    except Exception as e:  # report why, then exit non-zero: the caller decides if that is fatal
        _out({"error": "%s: %s" % (type(e).__name__, e)})
        return 2
    _out({"ready": True, "peer": peer_name()})
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            req = json.loads(line)
            if req["op"] == "check":
                _out({"response": card.execute(bytes.fromhex(req["apdu"])).hex().upper()})
            elif req["op"] == "rate":
                setup = [bytes.fromhex(h) for h in req.get("setup", [])]
                loop = [bytes.fromhex(h) for h in req["loop"]]
                _out({"rate": rate(card.execute, setup, loop, float(req["ms"]))})
            else:
                _out({"error": "unknown op %r" % req["op"]})
        except Exception as e:
            _out({"error": "%s: %s" % (type(e).__name__, e)})
    return 0


def one_shot(argv):
    import argparse
    p = argparse.ArgumentParser(description="Time vsmartcard's Iso7816OS.execute on given APDUs.")
    p.add_argument("--ms", type=float, default=1000.0, help="milliseconds per round")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--setup", action="append", default=[], help="APDU sent once before each round")
    p.add_argument("apdus", nargs="+", help="APDUs in hex, sent in order each iteration")
    args = p.parse_args(argv)
    card = make_card()
    setup = [bytes.fromhex(h) for h in args.setup]
    loop = [bytes.fromhex(h) for h in args.apdus]
    rates = [rate(card.execute, setup, loop, args.ms) for _ in range(args.rounds)]
    _out({"peer": peer_name(), "apdus": [h.upper() for h in args.apdus], "unit": "APDU/s",
          "rates": rates, "median": statistics.median(rates)})
    return 0


def main(argv):
    # Iso7816OS.execute logs every APDU at INFO and the SAM logs its default PIN at WARNING; keep
    # stdout/stderr for results (the hex dump passed to logging.info is still built per APDU).
    logging.getLogger().setLevel(logging.ERROR)
    if argv == ["--serve"]:
        return serve()
    return one_shot(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
