// The client form shows the sections of the chosen kind (views/clients.py):
// a person's passport, a company's requisites, both for a sole proprietor.
// Hidden fields keep what was typed in them.
$(function () {
    var kind = $("form select#kind");
    var person = $("#passport_series").closest(".panel-group");
    var legal = $("#ogrn").closest(".panel-group");
    if (!kind.length || !person.length || !legal.length) { return; }
    function follow() {
        person.toggle(kind.val() !== "company");
        legal.toggle(kind.val() !== "person");
    }
    kind.on("change", follow);
    follow();
});
