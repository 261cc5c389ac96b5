#!/bin/bash
# Every FITS file a newcomer's run writes, through HEASARC fitsverify: prints how many pass with 0 errors and
# 0 warnings.  Usage: bash tools/verify_products.sh [WORKDIR]   (needs fitsverify and ../shared/data)
set -e
d=${1:-/tmp/desghost-fitsverify}; rm -rf "$d"; mkdir -p "$d/in"
desghost -q simulate $d/in/DECam_00701901.fits.fz --expnum 701901 --flavor raw
desghost -q simulate $d/in/c4d_sim_ooi_r_v1.fits.fz --expnum 701902 --flavor ooi
desghost -q simulate $d/in/D00701903 --expnum 701903 --flavor des
desghost -q night $d/in -o $d/out --workers 1 --lenient
desghost -q run --demo -o $d/demo
desghost -q healpix $d/out/D*_mask.fits.fz -o $d/sky.fits --nside 256
desghost -q query --catalog $d/out/desghost_catalog.sqlite --format fits -o $d/query.fits
desghost -q assemble $d/in/DECam_00701901.fits.fz -o $d/fp.fits --lenient
real=${DESGHOST_SHARED_DATA:-$(cd "$(dirname "$0")/.." && pwd)/../shared/data}/decam/real
desghost -q run $(ls $real/testcase8/images/decam/CP/V4.8.2a/CP20171112/*ooi*.fits $real/testcase3/images/decam/CP20150326/c4d_150329_083320_ooi_r_v1.fits.fz) -o $d/real --no-overlay --lenient || true
find $d -name "*.fits" -o -name "*.fits.fz" | grep -v "/in/" > $d/written.txt
find $d/in -name "*.fits*" >> $d/written.txt
n=0; ok=0
while read f; do n=$((n+1)); if fitsverify -q "$f" | grep -q "^verification OK"; then ok=$((ok+1)); else echo "FAIL $f"; fi; done < $d/written.txt
echo "fitsverify: $ok of $n FITS files written by desghost verified with 0 errors and 0 warnings"
