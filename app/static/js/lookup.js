// Search-as-you-type for fields rendered by app/views/lookup.py. A field
// with data-client-field offers the records of the client chosen in that
// field, and forgets its choice when another client is chosen.
$(function () {
    $("select.lookup").each(function () {
        var el = $(this);
        var client = el.data("clientField") ? $("#" + el.data("clientField")) : null;
        el.select2({
            theme: "bootstrap",
            allowClear: true,
            placeholder: el.data("placeholder"),
            minimumInputLength: el.data("minLength") === undefined ? 1 : el.data("minLength"),
            ajax: {
                url: el.data("url"),
                dataType: "json",
                delay: 250,
                data: function (params) {
                    var query = {q: params.term || ""};
                    if (client && client.val()) { query.client = client.val(); }
                    return query;
                },
                processResults: function (data) { return {results: data.results}; }
            }
        });
        if (client) {
            client.on("change", function () { el.val(null).trigger("change"); });
        }
    });
});

// FAB's empty choice has no text, so select2 shows its value "__None".
$(function () {
    $('.select2-selection__rendered[title="__None"]').text("—").attr("title", "—");
});
