// Quick deadlines on the task forms (app/views/fields.py QuickDeadlineWidget):
// «Сегодня», «Завтра», «3 дня», «Неделя» write their value — that office day
// at the end of the working day, «ДД.ММ.ГГГГ ЧЧ:ММ», computed by the server
// from the office's today, not the browser's clock — into the input named
// by the group's data-for, and into its flatpickr if one is attached.
// Nothing else in the form is touched; the buttons are type="button", so
// they never submit, and Enter or Space on a focused one clicks it.
(function () {
    "use strict";

    function fill(button) {
        var group = button.closest(".sdelka-quick-deadlines");
        var input = group && document.getElementById(group.getAttribute("data-for"));
        var value = button.getAttribute("data-value");
        if (!input || !value) { return; }
        if (input._flatpickr) {
            input._flatpickr.setDate(value, false);
        }
        input.value = value;
        input.dispatchEvent(new Event("input", {bubbles: true}));
        input.dispatchEvent(new Event("change", {bubbles: true}));
    }

    document.addEventListener("click", function (event) {
        var button = event.target.closest && event.target.closest(".sdelka-quick-deadline");
        if (button) {
            event.preventDefault();
            fill(button);
        }
    });
}());
