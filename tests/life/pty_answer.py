#!/usr/bin/env python3
"""pty_answer.py ANSWER CMD...: run CMD with a terminal (a pty) as its
standard input, type ANSWER and a newline, and pass its standard output and
standard error through; exits with CMD's status.  For the questions of
klic-admin (member add / remove) that are asked only on a terminal."""
import os
import pty
import subprocess
import sys

answer, cmd = sys.argv[1], sys.argv[2:]
master, slave = pty.openpty()
p = subprocess.Popen(cmd, stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
os.close(slave)
os.write(master, (answer + "\n").encode())
out, err = p.communicate(timeout=120)
os.close(master)
sys.stdout.buffer.write(out)
sys.stderr.buffer.write(err)
sys.exit(p.returncode)
