// Client-side styling for dash-leaflet ({"variable": "geoDash.<name>"}).
// The polygons reach the browser once per province (or the country) and scheme; each feature carries
// its position `i` and its geometry key `g` ("<scheme>:<province>").  A change of indicator, month or
// filter sends only the store `communes-style` = {g, k: one class character per feature ("0"-"9",
// "-" no data, "~" hidden), pal: [colours], v: [values], s: "0101…" sensitive overlay, n: title, lang}
// and `applyStyle` restyles the existing Leaflet layers in place (setStyle), never rebuilding them.
// For a one-month view without case filters the page also holds, once per scope, indicator and
// analytics run, that indicator's classes for every month (`series`, from map_page.series), so a
// change of month or indicator repaints at once in the page (`geoDashMap.fast`) and the server's
// answer, which still comes for the legend, is checked against it (`geoDashMap.apply`).
window.geoDash = Object.assign({}, window.geoDash, {
    current: {},
    layers: {},
    _canvas: null,
    canvas: function () {
        if (!window.geoDash._canvas) { window.geoDash._canvas = L.canvas({ padding: 0.3, tolerance: 2 }); }
        return window.geoDash._canvas;
    },
    styleFor: function (feature, h) {
        var p = feature.properties, i = p.i;
        var k = (h && h.k) ? h.k.charAt(i) : "";
        var outside = p.in_scope === false;
        var hot = p.hot === true;
        var sensitive = h && h.s && h.s.charAt(i) === "1";
        var hidden = k === "~";
        var fill = outside ? "#f1f3f5" : hidden ? "#eceff1" :
            (k >= "0" && k <= "9") ? h.pal[+k] : (h && h.k) ? "#d9d9d9" : "#dbe7f3";
        var style = {
            color: hot ? "#7a0177" : sensitive ? "#0057b7" : "#4d5b6b",
            weight: hot ? 3 : sensitive ? 2.5 : 0.8,
            dashArray: hot ? "6 3" : sensitive ? "1 4" : null,
            fillColor: fill,
            fillOpacity: outside ? 0.4 : hidden ? 0.35 : 0.8,
        };
        if (p.g && p.g.slice(-3) === ":VN") {  // ~10,000 polygons: one canvas, hairlines
            style.renderer = window.geoDash.canvas();
            style.weight = hot ? 2 : 0.25;
            if (!hot && !sensitive) { style.color = "#8a96a3"; }
        }
        return style;
    },
    communeStyle: function (feature, context) {
        var h = (context && context.hideout && context.hideout.k) ? context.hideout : window.geoDash.current;
        if (h && h.g && feature.properties.g && h.g !== feature.properties.g) { h = {}; }
        var s = window.geoDash.styleFor(feature, h);
        s.className = "gd-commune" + (feature.properties.hot ? " gd-hot" : "");
        return s;
    },
    // Restyle the existing layers for `h`; `fast`: drawn by the page from its series copy, before the
    // server's answer (which then only confirms it: same classes, nothing to redraw).
    applyStyle: function (h, fast) {
        if (!h || !h.g) { return window.dash_clientside.no_update; }
        var gd = window.geoDash, cur = gd.current || {};
        var same = cur.g === h.g && cur.k === h.k && cur.s === h.s && String(cur.pal) === String(h.pal);
        gd.current = h;
        if (!fast) { gd.served = (gd.served || 0) + 1; }  // read by the benchmark and the tests
        // the legend is the server's: dimmed from a restyle in the page until its answer arrives
        var legend = document.getElementById("legend");
        if (legend) { legend.classList.toggle("gd-stale", !!fast); }
        if (same) { return h.g + "@" + (h.k || "").length; }
        gd.applied = (gd.applied || 0) + 1;  // read by the benchmark's repaint timer
        var layers = gd.layers[h.g] || [];
        for (var n = 0; n < layers.length; n++) {
            var layer = layers[n];
            if (layer) { layer.setStyle(gd.styleFor(layer.feature, h)); }
        }
        return h.g + "@" + (h.k || "").length;
    },
    // The month-by-month series of one indicator (server: map_page.series), by "<g>|<indicator>".
    series: {},
    pending: {},
    seriesKey: function (g, ind) { return g + "|" + ind; },
    outlineStyle: function () {
        return { color: "#000000", weight: 4, fill: false, interactive: false, className: "gd-outline" };
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
    casePoint: function (feature, latlng) {
        var p = feature.properties;
        return L.circleMarker(latlng, { radius: 5, color: "#1b1b1b", weight: 1, fillColor: p.mass ? "#d55e00" : "#0072b2", fillOpacity: 0.9, className: "gd-case-point" });
    },
    caseCluster: function (feature, latlng) {
        var n = feature.properties.point_count_abbreviated;
        var size = feature.properties.point_count >= 1000 ? 48 : feature.properties.point_count >= 100 ? 40 : 32;
        var icon = L.divIcon({ html: "<span>" + String(n).replace(/[^0-9.k]/g, "") + "</span>", className: "gd-cluster", iconSize: L.point(size, size) });
        return L.marker(latlng, { icon: icon, keyboard: false });
    },
    caseTooltip: function (feature, layer) {
        if (feature.properties.cluster) { return; }
        layer.bindTooltip(function () {
            var div = document.createElement("div");
            div.textContent = feature.properties.label || "";
            return div;
        });
    },
    compareTooltip: function (feature, layer) {
        layer.bindTooltip(function () {
            var div = document.createElement("div");
            var el = document.createElement("strong");
            el.textContent = feature.properties.tooltip;
            div.appendChild(el);
            return div;
        }, { sticky: true });
    },
    districtStyle: function (feature, context) {
        var national = feature.properties.level === "province";
        return { className: "gd-district", color: "#1b2a3a", weight: national ? 1.6 : 2.4, fill: false, interactive: false };
    },
    number: function (v, lang) {
        if (v === null || v === undefined) { return "—"; }
        if (typeof v !== "number") { return String(v); }
        return new Intl.NumberFormat(lang === "en" ? "en-GB" : "vi-VN", { maximumFractionDigits: 1 }).format(v);
    },
    communeTooltip: function (feature, layer, context) {
        var p = feature.properties;
        if (p.g) {
            var reg = window.geoDash.layers;
            if (!reg[p.g] || p.i === 0) { reg[p.g] = []; }
            reg[p.g][p.i] = layer;
        }
        layer.bindTooltip(function () {
            var h = window.geoDash.current || {};
            var lines = [p.tooltip];
            if (h.v && h.g === p.g && h.k && h.k.charAt(p.i) !== "~") {
                lines.push((h.n || "") + ": " + window.geoDash.number(h.v[p.i], h.lang));
            }
            if (p.ehsa) { lines.push(p.ehsa); }
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
window.dash_clientside = Object.assign({}, window.dash_clientside, {
    geoDashMap: {
        // The server's answer to a change: draw it, check the page's series copy against it (a new
        // analytics run or a different answer drops the copy) and ask for the series it lacks.
        apply: function (h, lastRequest) {
            var gd = window.geoDash, nu = window.dash_clientside.no_update;
            var drawn = gd.applyStyle(h, false);
            if (!h || !h.g || !h.m || !h.ind || !h.r) { return [drawn, nu]; }
            var key = gd.seriesKey(h.g, h.ind), ser = gd.series[key];
            if (ser) {
                var j = ser.m.indexOf(h.m);
                if (ser.r !== h.r || j < 0 || ser.k[j] !== h.k || String(ser.pal[j]) !== String(h.pal)) {
                    delete gd.series[key];
                    ser = null;
                }
            }
            var asked = gd.pending[key];
            if (ser || (asked && Date.now() - asked < 30000)) { return [drawn, nu]; }
            gd.pending[key] = Date.now();
            return [drawn, { g: h.g, ind: h.ind, r: h.r, at: gd.pending[key] }];
        },
        hold: function (ser) {
            var gd = window.geoDash;
            if (!ser || !ser.g || !ser.ind || !Array.isArray(ser.m)) { return window.dash_clientside.no_update; }
            var key = gd.seriesKey(ser.g, ser.ind), keys = Object.keys(gd.series);
            if (keys.length >= 24) { delete gd.series[keys[0]]; }  // a few scopes × indicators at most
            gd.series[key] = ser;
            // Dash keeps only the newest answer of a callback: a request still in flight when the next
            // was made is dropped, so nothing is pending any more (the next answer asks again)
            gd.pending = {};
            return key + "#" + ser.r;
        },
        // A change of indicator or month with no case filter, a one-month period, no registry layer
        // and nothing hidden: restyle from the series at once (no round trip); otherwise wait for the
        // server's answer.  The server's answer comes in either case (legend, URL) and is checked.
        fast: function (indicator, index, months, span, category, kind, status, mass, over, sonly, layer) {
            var gd = window.geoDash, nu = window.dash_clientside.no_update, cur = gd.current || {};
            var any = function (a) { return Array.isArray(a) && a.length > 0; };
            if (!cur.g || !cur.r || String(span || "1") !== "1" || layer || sonly === true || mass === true ||
                over === true || any(category) || any(kind) || any(status) || !Array.isArray(months) || !months.length) {
                return nu;
            }
            var ser = gd.series[gd.seriesKey(cur.g, indicator)];
            if (!ser || ser.r !== cur.r) { return nu; }
            var i = (typeof index === "number" && index >= 0 && index < months.length) ? index : months.length - 1;
            var j = ser.m.indexOf(months[i]);
            if (j < 0) { return nu; }
            gd.applyStyle({ g: cur.g, k: ser.k[j], pal: ser.pal[j], v: ser.v ? ser.v[j] : null, s: cur.s, n: ser.n,
                lang: cur.lang, r: ser.r, ind: indicator, m: months[i], fast: true }, true);
            return indicator + "@" + months[i];
        },
        // The view's settings that `fast` reads (month, period, case filters, layer), mirrored into the page
        // on each change, for the indicator list's own click (below).
        mirror: function (index, months, span, category, kind, status, mass, over, sonly, layer) {
            window.geoDash.view = { index: index, months: months, span: span, category: category, kind: kind,
                status: status, mass: mass, over: over, sonly: sonly, layer: layer };
            return window.dash_clientside.no_update;
        },
        step: function (_n, value, maximum) {
            value = typeof value === "number" ? value : 0;
            maximum = typeof maximum === "number" ? maximum : 0;
            return value >= maximum ? 0 : value + 1;
        },
        // The whole view in the URL: the server's view parameters, the drill-down and the map position.
        url: function (view, selected, district, center, zoom) {
            var viewport = { center: center, zoom: zoom };
            var q = new URLSearchParams();
            var v = view || {};
            var order = ["scheme", "province", "district", "commune", "indicator", "month", "range", "layer", "category",
                "kind", "status", "mass", "over", "sonly", "sensitive", "points", "at", "lang"];
            var extra = {};
            if (district) { extra.district = district; }
            if (selected) { extra.commune = selected; }
            if (viewport && viewport.center && viewport.zoom !== undefined) {
                var c = viewport.center, lat = Array.isArray(c) ? c[0] : c.lat, lng = Array.isArray(c) ? c[1] : c.lng;
                if (typeof lat === "number" && typeof lng === "number") {
                    extra.at = lat.toFixed(4) + "," + lng.toFixed(4) + "," + (Math.round(viewport.zoom * 100) / 100);
                }
            }
            order.forEach(function (key) {
                var value = extra[key] !== undefined ? extra[key] : v[key];
                if (key === "district" || key === "commune") { value = extra[key]; }
                if (value !== undefined && value !== null && value !== "") { q.set(key, value); }
            });
            return "?" + q.toString();
        },
    },
});

// A click on an option of the indicator list repaints the map at the click, from the page's series and
// the mirrored view: the same decision as `geoDashMap.fast`, made ~35 ms before the framework's dispatch
// of the new value reaches that callback (which then finds the map already drawn, and the server's
// answer still comes for the legend).  Capturing, so before the list's own handler; anything not
// drawable from the page (filters, a period, a series not fetched yet) is left to the callbacks.
document.addEventListener("click", function (event) {
    var gd = window.geoDash, v = gd && gd.view, target = event.target;
    var option = target && target.closest ? target.closest('[role="option"]') : null;
    if (!v || !option || !option.getAttribute("value")) { return; }
    var input = document.getElementById("indicator"), list = option.closest('[role="listbox"]');
    if (!input || !list || !list.id || input.getAttribute("aria-controls") !== list.id) { return; }
    var drawn = window.dash_clientside.geoDashMap.fast(option.getAttribute("value"), v.index, v.months, v.span,
        v.category, v.kind, v.status, v.mass, v.over, v.sonly, v.layer);
    if (drawn !== window.dash_clientside.no_update) { gd.atClick = (gd.atClick || 0) + 1; }  // read by the tests
}, true);
