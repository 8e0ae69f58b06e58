"""Data of the published examples in R's ``?wilcox.test``, shared by the oracle tests."""

# Hollander & Wolfe (1973), p. 69: permeability constants at term (x) and at 12-26 weeks (y).
HW_X = [0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46]
HW_Y = [1.15, 0.88, 0.90, 0.74, 1.21]

# R's airquality data set: Ozone in May and in August, NAs dropped.
# fmt: off
MAY = [41, 36, 12, 18, 28, 23, 19, 8, 7, 16, 11, 14, 18, 14, 34, 6, 30, 11, 1, 11, 4, 32, 23, 45, 115, 37]
AUG = [39, 9, 16, 78, 35, 66, 122, 89, 110, 44, 28, 65, 22, 59, 23, 31, 44, 21, 9, 45, 168, 73, 76, 118,
       84, 85]
# fmt: on
