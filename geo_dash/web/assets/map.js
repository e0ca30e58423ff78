// Client-side styling for dash-leaflet ({"variable": "geoDash.<name>"}).
// The polygons reach the browser once per province and scheme; a change of indicator, month or
// filter sends only `hideout` = {colors: {code: "#hex"}, values: {code: label}, ehsa: {code: label},
// hot: {code: true}, selected: code}, and these functions restyle the existing layers.
window.geoDash = Object.assign({}, window.geoDash, {
    current: {},
    communeStyle: function (feature, context) {
        var h = (context && context.hideout) || {};
        window.geoDash.current = h;
        var code = feature.properties.code;
        var selected = h.selected && code === h.selected;
        var outside = feature.properties.in_scope === false;
        var hot = h.hot && h.hot[code];
        var sensitive = h.sensitive && h.sensitive[code];
        var color = h.colors && h.colors[code];
        return {
            className: "gd-commune" + (hot ? " gd-hot" : "") + (sensitive ? " gd-sensitive" : ""),
            color: selected ? "#000000" : hot ? "#7a0177" : sensitive ? "#0057b7" : "#4d5b6b",
            weight: selected ? 4 : hot ? 3 : sensitive ? 2.5 : 0.8,
            dashArray: hot && !selected ? "6 3" : sensitive && !selected ? "1 4" : null,
            fillColor: outside ? "#f1f3f5" : (color || (h.colors ? "#d9d9d9" : "#dbe7f3")),
            fillOpacity: outside ? 0.4 : 0.8,
        };
    },
    featurePoint: function (feature, latlng) {
        return L.circleMarker(latlng, { radius: 8, color: "#000", weight: 1.5, fillColor: feature.properties.color || "#E69F00", fillOpacity: 0.9, className: "gd-feature" });
    },
    featureStyle: function (feature) {
        return { color: "#222", weight: 1.5, fillColor: feature.properties.color || "#E69F00", fillOpacity: 0.6, className: "gd-feature" };
    },
    featureTooltip: function (feature, layer) {
        layer.bindTooltip(function () {
            var div = document.createElement("div");
            div.textContent = feature.properties.tooltip || feature.properties.name || "";
            return div;
        }, { sticky: true });
    },
    districtStyle: function (feature, context) {
        return { className: "gd-district", color: "#1b2a3a", weight: 2.4, fill: false, interactive: false };
    },
    communeTooltip: function (feature, layer, context) {
        layer.bindTooltip(function () {
            var h = window.geoDash.current || {};
            var p = feature.properties, code = p.code;
            var lines = [p.tooltip];
            if (h.values && h.values[code] !== undefined) { lines.push((h.indicator || "") + ": " + h.values[code]); }
            if (h.ehsa && h.ehsa[code]) { lines.push(h.ehsa[code]); }
            var div = document.createElement("div");
            lines.forEach(function (t, i) {
                var el = document.createElement(i === 0 ? "strong" : "div");
                el.textContent = t;
                div.appendChild(el);
            });
            return div;
        }, { sticky: true });
    },
});
window.geoDash = Object.assign({}, window.geoDash, {
    wallStyle: function (feature, context) {
        var h = (context && context.hideout) || {};
        var code = feature.properties.code;
        var hot = h.hot && h.hot[code];
        return {
            color: hot ? "#ff4fd8" : "#0d1b2a", weight: hot ? 5 : 0.6,
            fillColor: (h.colors && h.colors[code]) || "#3b4a5a", fillOpacity: 0.92,
        };
    },
    wallDistrictStyle: function () { return { color: "#e9ecef", weight: 2.5, fill: false }; },
});
window.dash_clientside = Object.assign({}, window.dash_clientside, {
    geoDashWall: {
        clock: function () {
            var d = new Date(), p = function (n) { return (n < 10 ? "0" : "") + n; };
            return p(d.getHours()) + ":" + p(d.getMinutes()) + " · " + p(d.getDate()) + "/" + p(d.getMonth() + 1) + "/" + d.getFullYear();
        },
    },
});
