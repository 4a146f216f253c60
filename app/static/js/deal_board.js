// The deals board (templates/sdelka/deal_board.html, views/board.py).
// A card moves by dragging it onto a column or onto «Выиграна» /
// «Проиграна», or from the keyboard: a focused card opens the «Переместить»
// dialog with Enter, and ←/→ move it to the neighbouring stage. The card
// moves at once and goes back where it was if the server refuses, with
// the server's message. A lost deal asks for the reason first. A column
// loads its next cards when scrolled to the end (or with «Ещё сделки»).
(function () {
    "use strict";

    var board = document.getElementById("deal-board");
    if (!board) { return; }
    var moveUrl = board.dataset.moveUrl.replace(/\/0$/, "/");
    var cardsUrl = board.dataset.cardsUrl.replace(/\/0$/, "/");
    var query = board.dataset.query;
    var message = document.getElementById("board-message");
    var dialog = document.getElementById("board-move");
    var pending = null;  // the card the dialog is about

    function say(text, ok) {
        message.hidden = false;
        message.className = "alert " + (ok ? "alert-success" : "alert-danger");
        message.textContent = text;
    }

    function columnOf(stage) {
        return board.querySelector('.board-column[data-stage="' + stage + '"]');
    }

    function withQuery(url, extra) {
        var parts = [query, extra].filter(Boolean).join("&");
        return parts ? url + "?" + parts : url;
    }

    // Put ``card`` into ``list`` where it belongs: newest (highest id) first.
    function place(list, card) {
        var id = +card.dataset.deal;
        var after = Array.prototype.find.call(list.children, function (other) {
            return other !== card && +other.dataset.deal < id;
        });
        list.insertBefore(card, after || null);
    }

    function totals(columns) {
        (columns || []).forEach(function (c) {
            var column = columnOf(c.stage);
            if (!column) { return; }
            column.querySelector(".board-count").textContent = c.count;
            column.querySelector(".board-sum").textContent = c.total;
        });
    }

    function move(card, data) {
        var home = card.parentNode, next = card.nextSibling;
        var target = data.stage !== undefined ? columnOf(data.stage) : null;
        if (target) { place(target.querySelector(".board-cards"), card); }
        else if (data.status) { card.hidden = true; }
        var body = new URLSearchParams(data);
        body.append("csrf_token", board.dataset.csrf);
        return fetch(withQuery(moveUrl + card.dataset.deal), {
            method: "POST", body: body, credentials: "same-origin",
            headers: {"X-CSRFToken": board.dataset.csrf, "Accept": "application/json"}
        }).then(function (response) {
            return response.json().catch(function () {
                return {message: board.dataset.failed || response.statusText};
            }).then(function (answer) { return {ok: response.ok, answer: answer}; });
        }).then(function (result) {
            var answer = result.answer;
            if (!result.ok) {
                var focused = document.activeElement === document.body;
                home.insertBefore(card, next);  // back where it was
                card.hidden = false;
                if (focused) { card.focus(); }
                say(answer.message, false);
                totals(answer.columns);
                return;
            }
            var holder = document.createElement("ul");
            holder.innerHTML = answer.card;
            var fresh = holder.querySelector(".board-card");
            // Focus follows the card unless the user went on elsewhere.
            var focused = document.activeElement === card
                || document.activeElement === document.body;
            if (answer.stage !== null && columnOf(answer.stage) && fresh) {
                card.replaceWith(fresh);
                place(columnOf(answer.stage).querySelector(".board-cards"), fresh);
                if (focused) { fresh.focus(); }
            } else {
                card.remove();
            }
            say(answer.message, true);
            totals(answer.columns);
        }).catch(function () {
            home.insertBefore(card, next);
            card.hidden = false;
            say(board.dataset.failed || "Error", false);
        });
    }

    // The dialog: where to, and the reason of a loss.
    function openDialog(card, preset) {
        if (!dialog) { return; }
        pending = card;
        var stage = card.closest(".board-column").dataset.stage;
        var target = document.getElementById("board-move-target");
        target.value = preset || "stage:" + stage;
        if (target.selectedIndex < 0) { target.selectedIndex = 0; }
        showReason();
        // Bootstrap 3 loses a dialog shown while its last closing is still
        // fading out: show it once that is over.
        if (closing) {
            $(dialog).one("hidden.bs.modal", function () { $(dialog).modal("show"); });
        } else {
            $(dialog).modal("show");
        }
    }

    function showReason() {
        var lost = document.getElementById("board-move-target").value === "status:lost";
        document.getElementById("board-move-reason-group").hidden = !lost;
    }

    var closing = false;
    if (dialog) {
        $(dialog).on("hide.bs.modal", function () { closing = true; });
        $(dialog).on("hidden.bs.modal", function () { closing = false; });
        document.getElementById("board-move-target").addEventListener("change", showReason);
        $(dialog).on("shown.bs.modal", function () {
            var reason = document.getElementById("board-move-reason");
            (reason.offsetParent ? reason : document.getElementById("board-move-target")).focus();
        });
        document.getElementById("board-move-form").addEventListener("submit", function (event) {
            event.preventDefault();
            var parts = document.getElementById("board-move-target").value.split(":");
            var data = {};
            if (parts[0] === "stage") { data.stage = parts[1]; } else { data.status = parts[1]; }
            if (data.status === "lost") {
                data.loss_reason = document.getElementById("board-move-reason").value;
            }
            var card = pending;
            $(dialog).modal("hide");
            if (card) { move(card, data); }
        });
    }

    // Dragging.
    var dragged = null;
    board.addEventListener("dragstart", function (event) {
        var card = event.target.closest && event.target.closest(".board-card");
        if (!card) { return; }
        dragged = card;
        card.classList.add("board-dragging");
        event.dataTransfer.effectAllowed = "move";
        event.dataTransfer.setData("text/plain", card.dataset.deal);
    });
    document.addEventListener("dragend", function () {
        if (dragged) { dragged.classList.remove("board-dragging"); }
        document.querySelectorAll(".board-target").forEach(function (el) {
            el.classList.remove("board-target");
        });
    });
    function dropZone(event) {
        return event.target.closest && event.target.closest(".board-column, .board-drop");
    }
    document.addEventListener("dragover", function (event) {
        var zone = dropZone(event);
        if (!zone || !dragged) { return; }
        event.preventDefault();
        event.dataTransfer.dropEffect = "move";
        document.querySelectorAll(".board-target").forEach(function (el) {
            if (el !== zone) { el.classList.remove("board-target"); }
        });
        zone.classList.add("board-target");
    });
    document.addEventListener("drop", function (event) {
        var zone = dropZone(event);
        if (!zone || !dragged) { return; }
        event.preventDefault();
        zone.classList.remove("board-target");
        var card = dragged;
        dragged = null;
        if (zone.dataset.status === "lost") { openDialog(card, "status:lost"); return; }
        if (zone.dataset.status) { move(card, {status: zone.dataset.status}); return; }
        if (zone.dataset.stage !== card.closest(".board-column").dataset.stage) {
            move(card, {stage: zone.dataset.stage});
        }
    });

    // The keyboard.
    board.addEventListener("click", function (event) {
        var button = event.target.closest(".board-move-button");
        if (button) { openDialog(button.closest(".board-card")); }
    });
    board.addEventListener("keydown", function (event) {
        var card = event.target;
        if (!card.classList || !card.classList.contains("board-card")) { return; }
        var columns = Array.prototype.slice.call(board.querySelectorAll(".board-column"));
        var at = columns.indexOf(card.closest(".board-column"));
        if (event.key === "Enter" || event.key === " ") {
            event.preventDefault();
            openDialog(card);
        } else if ((event.key === "ArrowRight" || event.key === "ArrowLeft") && dialog) {
            var to = columns[at + (event.key === "ArrowRight" ? 1 : -1)];
            if (to && +to.dataset.stage) {
                event.preventDefault();
                move(card, {stage: to.dataset.stage});
                card.focus();
            }
        } else if (event.key === "ArrowDown" || event.key === "ArrowUp") {
            var other = event.key === "ArrowDown" ? card.nextElementSibling
                : card.previousElementSibling;
            if (other) { event.preventDefault(); other.focus(); }
        }
    });

    // The rest of a column, on scroll.
    function loadMore(column) {
        var list = column.querySelector(".board-cards");
        if (list.dataset.more !== "1" || list.dataset.loading) { return; }
        var last = list.lastElementChild;
        list.dataset.loading = "1";
        fetch(withQuery(cardsUrl + column.dataset.stage,
                        last ? "before=" + last.dataset.deal : ""),
              {credentials: "same-origin"})
            .then(function (response) {
                list.dataset.more = response.headers.get("X-Board-More") || "0";
                return response.text();
            })
            .then(function (html) {
                var holder = document.createElement("ul");
                holder.innerHTML = html;
                Array.prototype.slice.call(holder.children).forEach(function (card) {
                    if (!document.getElementById(card.id)) { list.appendChild(card); }
                });
                column.querySelector(".board-more").hidden = list.dataset.more !== "1";
            })
            .finally(function () { delete list.dataset.loading; });
    }
    board.querySelectorAll(".board-column").forEach(function (column) {
        var list = column.querySelector(".board-cards");
        list.addEventListener("scroll", function () {
            if (list.scrollTop + list.clientHeight >= list.scrollHeight - 40) { loadMore(column); }
        });
        column.querySelector(".board-more").addEventListener("click", function () {
            loadMore(column);
        });
    });
}());
