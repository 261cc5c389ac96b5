"""Make edited copies of FITS exposures for bad-input tests (real files, written with fitsio)."""
import fitsio
import numpy as np

_STRUCTURAL = ("SIMPLE", "XTENSION", "BITPIX", "NAXIS", "PCOUNT", "GCOUNT", "TFIELDS", "TTYPE", "TFORM",
               "BZERO", "BSCALE", "EXTEND", "CHECKSUM", "DATASUM", "ZIMAGE", "ZTENSION", "ZBITPIX", "ZNAXIS",
               "ZTILE", "ZCMPTYPE", "ZNAME", "ZVAL", "ZPCOUNT", "ZGCOUNT", "ZQUANTIZ", "ZDITHER", "ZHECKSUM",
               "ZDATASUM", "ZSIMPLE", "ZEXTEND", "ZBLANK", "ZSCALE", "ZZERO", "EXTNAME")


def header_cards(hdr):
    return [{"name": r["name"], "value": r["value"]} for r in hdr.records()
            if r.get("name") and not r["name"].startswith(_STRUCTURAL) and r["name"] not in ("COMMENT", "HISTORY")]


def copy_exposure(src, dst, keep=None, edit_primary=None, edit_hdu=None, extname=None):
    """Copy ``src`` to ``dst`` (uncompressed), optionally dropping or editing HDUs.

    keep(i, extname) -> bool; edit_primary(cards) -> cards;
    edit_hdu(i, extname, data, cards) -> (data, cards); extname(i, name) -> new name.
    """
    with fitsio.FITS(str(src)) as f, fitsio.FITS(str(dst), "rw", clobber=True) as out:
        cards = header_cards(f[0].read_header())
        if edit_primary:
            cards = edit_primary(cards)
        out.write(None, header=cards)
        for i in range(1, len(f)):
            name = f[i].get_extname()
            if keep and not keep(i, name):
                continue
            data = f[i].read()
            hcards = header_cards(f[i].read_header())
            if edit_hdu:
                data, hcards = edit_hdu(i, name, data, hcards)
            out.write(np.ascontiguousarray(data), header=hcards, extname=extname(i, name) if extname else name)


def set_card(cards, name, value):
    cards = [c for c in cards if c["name"] != name]
    if value is not None:
        cards.append({"name": name, "value": value})
    return cards
