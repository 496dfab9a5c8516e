package embplot

import (
	"image/color"
	"math"
)

// coolWarm is Moreland's smooth cool-warm diverging map ("Diverging Color
// Maps for Scientific Visualization", 2009) sampled at 33 evenly spaced
// points from -1 to 1, as 8-bit sRGB. The values are those of Moreland's
// published 33-entry table (as computed by gonum.org/v1/plot's
// moreland.SmoothBlueRed, which this package used before); between two
// entries the colour is interpolated linearly, as Moreland's tables are
// meant to be used.
var coolWarm = [33][3]uint8{
	{59, 76, 192}, {68, 90, 204}, {78, 104, 215}, {87, 117, 225},
	{98, 130, 234}, {108, 142, 241}, {119, 154, 247}, {130, 165, 251},
	{141, 176, 254}, {152, 185, 255}, {163, 194, 255}, {174, 201, 253},
	{184, 208, 249}, {194, 213, 244}, {204, 217, 238}, {213, 219, 230},
	{221, 221, 221}, {229, 216, 209}, {236, 211, 197}, {241, 204, 185},
	{245, 196, 173}, {247, 187, 160}, {247, 177, 148}, {247, 166, 135},
	{244, 154, 123}, {241, 141, 111}, {236, 127, 99}, {229, 112, 88},
	{222, 96, 77}, {213, 80, 66}, {203, 62, 56}, {192, 40, 47},
	{180, 4, 38},
}

// nanColor marks a value that is not a number (or an undefined cosine).
var nanColor = color.RGBA{0, 0, 0, 255}

// diverge maps t in [-1, 1] to the cool-warm map: -1 blue, 0 grey, 1 red.
// Values beyond are clamped (so ±Inf get the end colours); NaN is black.
func diverge(t float64) color.RGBA {
	if math.IsNaN(t) {
		return nanColor
	}
	t = math.Max(-1, math.Min(1, t))
	f := (t + 1) / 2 * float64(len(coolWarm)-1)
	i := int(f)
	if i >= len(coolWarm)-1 {
		i = len(coolWarm) - 2
	}
	frac := f - float64(i)
	a, b := coolWarm[i], coolWarm[i+1]
	mix := func(x, y uint8) uint8 {
		return uint8(math.Round(float64(x) + frac*(float64(y)-float64(x))))
	}
	return color.RGBA{mix(a[0], b[0]), mix(a[1], b[1]), mix(a[2], b[2]), 255}
}
