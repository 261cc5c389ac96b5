"""Where on the sky: footprints of instances and excluded CCDs, the HEALPix index that finds them,
and the bright stars near each exposure."""
