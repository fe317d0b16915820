#!/usr/bin/env python3
"""Host-side check of our BIOS under Debian's QEMU (TCG, i440FX/PIIX3/IDE).

    bios/test/run-qemu.py [--bios build/bios/bios.bin] [--build DIR]

1. boots bios/test/disk.asm on 2 CPUs (a boot sector + stage 2 that exercise int 10h,
   13h 02h/03h/08h/41h/42h/43h/48h, 15h E820h/E801h/88h/C0h, 12h, 1Ah, the
   PCI BIOS and $PIR, see its header) and expects "BIOSTEST PASS" with
   debug-exit status 0, and the sectors it wrote through int 13h AH=43h and
   AH=03h in the image file;
2. boots a disk with no boot signature and expects the BIOS's "No bootable
   disk" message.
Both take seconds.  Exit status 0 pass, 1 fail, 77 skip (no QEMU or nasm).
Without --bios it builds the BIOS first (make -C bios O=<build>/bios).
--make-disk PATH only writes the test disk (the rig's qemu-bios scenario
boots it in L1).
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SECTORS = 4096
WRITE_LBA = 40
CHS_WRITE_LBA = 41   # int 13h AH=03h writes 2 sectors of 'C's here


def qemu_run(qemu, bios, disk, until, timeout, smp=1):
    """Run QEMU; return (exit status or None if stopped, serial output).
    Stops QEMU as soon as `until` appears in the output."""
    cmd = [qemu, "-accel", "tcg", "-bios", bios, "-m", "64", "-smp", str(smp), "-display", "none",
           "-monitor", "none", "-serial", "stdio", "-no-reboot",
           "-drive", "file=%s,format=raw,if=ide" % disk,
           "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL)
    out = b""
    deadline = time.time() + timeout
    os.set_blocking(p.stdout.fileno(), False)
    while time.time() < deadline:
        try:
            chunk = p.stdout.read()
        except BlockingIOError:
            chunk = None
        if chunk:
            out += chunk
            if until and until.encode() in out:
                p.kill()
                p.wait()
                return None, out.decode(errors="replace")
        elif p.poll() is not None:
            rest = p.stdout.read() or b""
            return p.returncode, (out + rest).decode(errors="replace")
        else:
            time.sleep(0.05)
    p.kill()
    p.wait()
    return "timeout", out.decode(errors="replace")


def make_test_disk(path, boot):
    with open(path, "wb") as f:
        f.write(boot)
        for lba in range(len(boot) // 512, SECTORS):
            f.write(lba.to_bytes(4, "little") + bytes([lba & 0xff]) * 508)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bios", help="BIOS image (default: build it)")
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--qemu", default="qemu-system-x86_64")
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("--make-disk", metavar="PATH", help="only write the test disk to PATH")
    args = ap.parse_args()

    if args.make_disk:
        with tempfile.TemporaryDirectory(prefix="bios-test-") as tmp:
            binp = os.path.join(tmp, "disk.bin")
            subprocess.run(["nasm", "-f", "bin", "-w+all", "-o", binp,
                            os.path.join(HERE, "disk.asm")], check=True)
            with open(binp, "rb") as f:
                make_test_disk(args.make_disk, f.read())
        return 0

    if not shutil.which(args.qemu) or not shutil.which("nasm"):
        print("SKIP: needs %s and nasm" % args.qemu)
        return 77
    bios = args.bios
    if not bios:
        bios = os.path.join(args.build, "bios", "bios.bin")
        r = subprocess.run(["make", "--no-print-directory", "-C", os.path.join(ROOT, "bios"),
                            "O=" + os.path.join(args.build, "bios")],
                           capture_output=True, text=True)
        if r.returncode:
            print("FAIL: building the BIOS:\n" + r.stdout + r.stderr)
            return 1

    failed = 0
    with tempfile.TemporaryDirectory(prefix="bios-test-") as tmp:
        binp = os.path.join(tmp, "disk.bin")
        subprocess.run(["nasm", "-f", "bin", "-w+all", "-o", binp,
                        os.path.join(HERE, "disk.asm")], check=True)
        with open(binp, "rb") as f:
            boot = f.read()
        disk = os.path.join(tmp, "disk.img")
        make_test_disk(disk, boot)

        status, out = qemu_run(args.qemu, bios, disk, None, 60, smp=2)
        with open(disk, "rb") as f:
            f.seek(WRITE_LBA * 512)
            written = f.read(512)
            f.seek(CHS_WRITE_LBA * 512)
            chs_written = f.read(1024)
        problems = []
        if status != 1:
            problems.append("QEMU exit status %s, expected 1 (debug-exit 0)" % status)
        if "BIOSTEST PASS" not in out:
            problems.append("no BIOSTEST PASS")
        if "kvm-run BIOS" not in out:
            problems.append("no BIOS banner")
        if "2 CPUs" not in out or "application processors answered" in out:
            problems.append("the second CPU was not counted or did not start")
        if written != b"W" * 512:
            problems.append("sector %d in the image is not what int 13h AH=43h wrote" % WRITE_LBA)
        if chs_written != b"C" * 1024:
            problems.append("sectors %d-%d in the image are not what int 13h AH=03h wrote"
                            % (CHS_WRITE_LBA, CHS_WRITE_LBA + 1))
        checks = [l for l in out.splitlines() if l.startswith("BIOSTEST ok")]
        if problems:
            failed += 1
            print("FAIL boot-disk-services: " + "; ".join(problems))
            print(out)
        else:
            print("ok boot-disk-services (%d checks)" % len(checks))
            if args.verbose:
                print(out)

        blank = os.path.join(tmp, "blank.img")
        with open(blank, "wb") as f:
            f.truncate(1 << 20)
        status, out = qemu_run(args.qemu, bios, blank, "System halted", 30)
        if status is not None or "No bootable disk" not in out:
            failed += 1
            print("FAIL no-bootable-disk: status %s" % status)
            print(out)
        else:
            print("ok no-bootable-disk")
            if args.verbose:
                print(out)
    print("%d passed, %d failed" % (2 - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
