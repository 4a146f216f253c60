// Dates and times a Russian office types and picks: the inputs of
// app/views/fields.py DateInputWidget («ДД.ММ.ГГГГ», «ДД.ММ.ГГГГ ЧЧ:ММ»)
// get flatpickr (static/vendor/flatpickr, MIT) in Russian: month names,
// Monday first, 24-hour time. Text is read by the rules of
// app/services/values.py (day first or ISO, a year of 2 or 4 digits, a time
// after a space, a comma or "T"); a readable value is written back in the
// Russian form, an unreadable one is kept exactly as typed, so that the
// server refuses it with a message at the field — never emptied.
(function () {
    "use strict";

    var DAY_FIRST = /^(\d{1,2})([.\/-])(\d{1,2})\2(\d{4}|\d{2})$/;
    var ISO_DAY = /^(\d{4})-(\d{1,2})-(\d{1,2})$/;
    var CLOCK = /^(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d{1,6})?)?$/;
    var DATE_CLOCK = /^([^\sT,]+)(?:(?:\s*,\s*|\s+|T)(\S+))?$/;

    function day(text) {
        var m = DAY_FIRST.exec(text), y, mo, d;
        if (m) {
            d = +m[1]; mo = +m[3]; y = +m[4];
            if (m[4].length === 2) { y += y < 50 ? 2000 : 1900; }
        } else {
            m = ISO_DAY.exec(text);
            if (!m) { return null; }
            y = +m[1]; mo = +m[2]; d = +m[3];
        }
        if (y < 1900 || y > 2100) { return null; }
        var date = new Date(y, mo - 1, d);
        if (date.getFullYear() !== y || date.getMonth() !== mo - 1 || date.getDate() !== d) {
            return null;
        }
        return date;
    }

    function read(text, withTime) {
        text = String(text || "").trim();
        if (!withTime) { return day(text); }
        var m = DATE_CLOCK.exec(text);
        var date = m ? day(m[1]) : null;
        if (!date || !m[2]) { return date; }
        var c = CLOCK.exec(m[2]);
        if (!c || +c[1] > 23 || +c[2] > 59 || +(c[3] || 0) > 59) { return null; }
        date.setHours(+c[1], +c[2], +(c[3] || 0));
        return date;
    }

    function two(n) { return (n < 10 ? "0" : "") + n; }

    function show(date, withTime) {
        var text = two(date.getDate()) + "." + two(date.getMonth() + 1) + "." + date.getFullYear();
        return withTime ? text + " " + two(date.getHours()) + ":" + two(date.getMinutes()) : text;
    }

    function setUp(input) {
        if (input._flatpickr || typeof window.flatpickr !== "function") { return; }
        var withTime = input.getAttribute("data-kind") === "datetime";
        var typed = input.value;
        var picker = window.flatpickr(input, {
            locale: (window.flatpickr.l10ns && window.flatpickr.l10ns.ru) || "default",
            allowInput: true,
            clickOpens: false,
            disableMobile: true,
            enableTime: withTime,
            time_24hr: true,
            defaultHour: 9,
            minuteIncrement: 5,
            dateFormat: withTime ? "d.m.Y H:i" : "d.m.Y",
            parseDate: function (text) { return read(text, withTime) || undefined; },
            formatDate: function (date) { return show(date, withTime); }
        });
        // flatpickr empties the input when it cannot read it (on blur, on
        // Enter, at start): keep such text for the server's message instead.
        var setDate = picker.setDate;
        picker.setDate = function (value, triggerChange, format) {
            if (typeof value === "string" && value.trim() && !read(value, withTime)) {
                return undefined;
            }
            return setDate.call(picker, value, triggerChange, format);
        };
        if (input.value !== typed && !read(typed, withTime)) { input.value = typed; }
        var group = input.closest(".sdelka-date-group");
        var button = group && group.querySelector(".sdelka-date-toggle");
        if (button) {
            button.addEventListener("click", function () {
                if (picker.isOpen) { picker.close(); return; }
                if (input.value.trim() && read(input.value, withTime)) {
                    picker.setDate(input.value, false);
                }
                picker.open();
            });
        }
    }

    window.sdelkaDates = {read: read, show: show, setUp: setUp};

    function setUpAll(root) {
        var inputs = (root || document).querySelectorAll("input.sdelka-date");
        for (var i = 0; i < inputs.length; i++) { setUp(inputs[i]); }
    }

    // A list's filter row is added later (FAB's ab_filters.js copies the
    // search form's input): its date input is set up when it appears.
    function watch() {
        setUpAll();
        new MutationObserver(function (changes) {
            for (var i = 0; i < changes.length; i++) {
                for (var j = 0; j < changes[i].addedNodes.length; j++) {
                    var node = changes[i].addedNodes[j];
                    if (node.nodeType === 1) { setUpAll(node); }
                }
            }
        }).observe(document.body, {childList: true, subtree: true});
    }

    if (document.readyState === "loading") {
        document.addEventListener("DOMContentLoaded", watch);
    } else {
        watch();
    }
}());
