// The cases page's URL: the list's view (scheme, province, commune, language, from the server) and the
// case open in the form, so a case can be bookmarked and shared (/cases?…&case=ID opens it).
window.dash_clientside = Object.assign({}, window.dash_clientside, {
    geoDashCases: {
        url: function (search, open) {
            if (typeof search !== "string") { return window.dash_clientside.no_update; }
            var id = open && typeof open.id === "number" ? open.id : null;
            return search + (id !== null ? "&case=" + id : "");
        },
    },
});
