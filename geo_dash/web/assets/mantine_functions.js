// Functions handed to dash-mantine-components as {"function": "<name>"}.
var dmcfuncs = (window.dashMantineFunctions = window.dashMantineFunctions || {});

// Diacritic-insensitive text key, the same rule as geo_dash.text.fold:
// "Quảng Trị", "quang tri" and "QUANG TRI" compare equal.
dmcfuncs.fold = function (text) {
    return String(text || "")
        .normalize("NFD")
        .replace(/[\u0300-\u036f]/g, "")
        .replace(/đ/g, "d")
        .replace(/Đ/g, "D")
        .toLowerCase()
        .replace(/\s+/g, " ")
        .trim();
};

// Select/Combobox filter: every word of the search must occur in the folded label.
dmcfuncs.foldFilter = function (input) {
    var words = dmcfuncs.fold(input.search).split(" ").filter(Boolean);
    var keep = function (item) {
        var label = dmcfuncs.fold(item.label);
        return words.every(function (w) { return label.indexOf(w) !== -1; });
    };
    return input.options
        .map(function (item) {
            if (item.items) {
                var items = item.items.filter(keep);
                return items.length ? Object.assign({}, item, { items: items }) : null;
            }
            return keep(item) ? item : null;
        })
        .filter(Boolean);
};
