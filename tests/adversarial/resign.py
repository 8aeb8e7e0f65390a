#!/usr/bin/env python3
"""TEST-ONLY: re-sign the members of an unpacked .kresp or .kreq with another
key (stock gpg), keeping everything else consistent, for the wrong-role cases
of tests/adversarial/run.sh.

usage: resign.py response|request DIR GNUPGHOME OLD_FPR NEW_FPR

response: every occurrence of OLD_FPR (the real issuer) in manifest.json and
  in the license bodies becomes NEW_FPR (the wrong signer), so the documents
  name their signer truthfully; each license is clear-signed again by
  GNUPGHOME's key (or, when a license is the clear-signed form of the
  manifest itself, rebuilt from the new manifest and signature); the
  licenses' SHA-256 listed in the manifest (if any) are updated; then
  manifest.sig is made again in the form it had (ASCII-armored text mode or
  binary).  The result is a response that is valid in every way except that
  its signer is not the pinned issuer.
request: manifest.sig becomes a binary detached signature by GNUPGHOME's key
  over the unchanged manifest.json (OLD_FPR/NEW_FPR are ignored).
"""
import hashlib
import os
import subprocess
import sys

HEAD = b"-----BEGIN PGP SIGNED MESSAGE-----\n"
SIGSEP = b"\n-----BEGIN PGP SIGNATURE-----\n"


def gpg(home, args, data):
    cmd = ["gpg", "--homedir", home, "--batch", "--yes", "--quiet",
           "--pinentry-mode", "loopback", "--passphrase", ""] + args
    return subprocess.run(cmd, input=data, stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, check=True).stdout


def split_lic(text):
    """(hash header line, body) of a clear-signed license."""
    assert text.startswith(HEAD), "not a clear-signed license"
    rest = text[len(HEAD):]
    hline, rest = rest.split(b"\n", 1)
    assert rest.startswith(b"\n")
    body = rest[1:].split(SIGSEP, 1)[0]
    return hline, body


def main():
    kind, d, home, old, new = sys.argv[1:6]
    man_path = os.path.join(d, "manifest.json")
    sig_path = os.path.join(d, "manifest.sig")
    man = open(man_path, "rb").read()
    if kind == "request":
        open(sig_path, "wb").write(gpg(home, ["--detach-sign"], man))
        return
    armored = open(sig_path, "rb").read().startswith(b"-----BEGIN")
    orig_man = man
    man = man.replace(old.encode(), new.encode())
    lics = sorted(f for f in os.listdir(d) if f.endswith(".lic"))
    rendered = []
    for f in lics:
        p = os.path.join(d, f)
        text = open(p, "rb").read()
        hline, body = split_lic(text)
        if body == orig_man:  # the license is the clear-signed manifest
            rendered.append(f)
            continue
        algo = hline.split(b": ", 1)[1].decode()
        body = body.replace(old.encode(), new.encode())
        newtext = gpg(home, ["--digest-algo", algo, "--clearsign"], body)
        man = man.replace(hashlib.sha256(text).hexdigest().encode(),
                          hashlib.sha256(newtext).hexdigest().encode())
        open(p, "wb").write(newtext)
    open(man_path, "wb").write(man)
    if armored:
        sig = gpg(home, ["--digest-algo", "SHA256", "--armor", "--textmode",
                         "--detach-sign"], man)
    else:
        sig = gpg(home, ["--detach-sign"], man)
    open(sig_path, "wb").write(sig)
    for f in rendered:
        lic = HEAD + b"Hash: SHA256\n\n" + man + b"\n" + sig
        open(os.path.join(d, f), "wb").write(lic)


if __name__ == "__main__":
    main()
