"""NOIRLab Community Pipeline files (``c4d_*_ooi_*``): one float image HDU per CCD.

The pixels are read as they are (already calibrated); non-finite values are flagged by the
exposure reader.
"""
import numpy as np


def read_community_ccd(hdu, ny, nx, row_step):
    """Pixels of one Community Pipeline CCD HDU of shape ``(ny, nx)``, every ``row_step``-th row.

    Returns
    -------
    ndarray of float32, shape (ceil(ny / row_step), nx)
    """
    return hdu[0:ny:row_step, 0:nx].astype(np.float32)
