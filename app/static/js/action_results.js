// «Результат» offers only the results of the chosen action type
// (views/actions.py gives each result's type in data-action-types); a result
// of another type is cleared when the type changes.
$(function () {
    var result = $("form select#action_result[data-action-types]");
    var type = $("form select#action_type");
    if (!result.length || !type.length) { return; }
    var typeOf = result.data("actionTypes");
    var all = result.find("option").clone();
    function follow() {
        var chosen = result.val();
        var wanted = type.val();
        var offered = all.filter(function () {
            var value = $(this).val();
            return !(value in typeOf) || (wanted && String(typeOf[value]) === wanted);
        }).clone();
        result.empty().append(offered);
        var kept = result.find("option").filter(function () { return $(this).val() === chosen; });
        result.val(kept.length ? chosen : offered.first().val()).trigger("change");
    }
    type.on("change", follow);
    follow();
});
