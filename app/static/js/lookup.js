// Search-as-you-type for fields rendered by app/views/lookup.py.
$(function () {
    $("select.lookup").each(function () {
        var el = $(this);
        el.select2({
            theme: "bootstrap",
            allowClear: true,
            placeholder: el.data("placeholder"),
            minimumInputLength: 1,
            ajax: {
                url: el.data("url"),
                dataType: "json",
                delay: 250,
                data: function (params) { return {q: params.term}; },
                processResults: function (data) { return {results: data.results}; }
            }
        });
    });
});

// FAB's empty choice has no text, so select2 shows its value "__None".
$(function () {
    $('.select2-selection__rendered[title="__None"]').text("—").attr("title", "—");
});
