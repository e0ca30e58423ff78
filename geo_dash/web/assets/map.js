// Client-side style functions for dash-leaflet (referenced as {"variable": "geoDash.<name>"}).
// Styling happens in the browser: a later filter or time change sends only
// values in `hideout`, never the polygons again.
window.geoDash = Object.assign({}, window.geoDash, {
    communeStyle: function (feature, context) {
        var h = (context && context.hideout) || {};
        var selected = h.selected && feature.properties.code === h.selected;
        return {
            className: "gd-commune",
            color: selected ? "#d62728" : "#4d5b6b",
            weight: selected ? 3 : 0.8,
            fillColor: "#dbe7f3",
            fillOpacity: 0.55,
        };
    },
    districtStyle: function (feature, context) {
        return {
            className: "gd-district",
            color: "#1b2a3a",
            weight: 2.4,
            fill: false,
            interactive: false,
        };
    },
});
