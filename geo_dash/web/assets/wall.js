// The map wall (/wall): styles of its map, drawn from across a room.
// Line widths and marker sizes grow with the screen (1 at 1080 px high, 2 at 2160 px: 4K).
// `hideout` = {colors: {code: "#hex"}, level: "commune"|"district"|"province", hot: {code: true},
//              dim: bool (a layer of points is drawn on top)}.
window.geoDash = Object.assign({}, window.geoDash, {
    wallScale: function () {
        return Math.max(1, (window.innerHeight || 1080) / 1080);
    },
    wallCommune: function (feature, context) {
        var h = (context && context.hideout) || {};
        var p = feature.properties, s = window.geoDash.wallScale();
        if (p.in_scope === false) {  // outside the wall's area: the background, outlined
            return { color: "#415a77", weight: 0.8 * s, fillColor: "#0d1b2a", fillOpacity: 1 };
        }
        var key = h.level === "district" ? p.parent : h.level === "province" ? p.province : p.code;
        var color = h.colors && h.colors[key];
        var hot = h.hot && h.hot[p.code];
        return {
            color: hot ? "#ff4fd8" : "#0d1b2a",
            weight: (hot ? 5 : 0.8) * s,
            fillColor: color || "#3b4a5a",
            fillOpacity: h.dim ? 0.5 : 0.92,
        };
    },
    wallDistrict: function () {
        return { color: "#e9ecef", weight: 2.5 * window.geoDash.wallScale(), fill: false, interactive: false };
    },
    wallFeaturePoint: function (feature, latlng) {
        var s = window.geoDash.wallScale();
        return L.circleMarker(latlng, {
            radius: 18 * s, color: "#ffffff", weight: 4 * s,
            fillColor: feature.properties.color || "#E69F00", fillOpacity: 1, interactive: false,
        });
    },
    wallFeatureStyle: function (feature) {
        return {
            color: "#ffffff", weight: 3 * window.geoDash.wallScale(),
            fillColor: feature.properties.color || "#E69F00", fillOpacity: 0.9,
        };
    },
});
