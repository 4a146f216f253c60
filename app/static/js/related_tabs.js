// A record page's tabs of related records (app/views/related_tabs.py): each
// is fetched the first time it is shown, and its pager, page size and sort
// links load into the tab itself rather than leaving the page.
(function () {
    "use strict";

    function load(holder, url) {
        holder.setAttribute("aria-busy", "true");
        fetch(url, {credentials: "same-origin"})
            .then(function (response) {
                if (!response.ok) { throw new Error(response.status); }
                return response.text();
            })
            .then(function (html) {
                // jQuery runs the list's own scripts (its delete buttons).
                $(holder).html(html);
                holder.setAttribute("data-loaded", url);
            })
            .catch(function () {
                holder.textContent = holder.getAttribute("data-failed");
            })
            .then(function () { holder.removeAttribute("aria-busy"); });
    }

    function open(pane) {
        var holder = pane && pane.querySelector(".sdelka-related-tab");
        if (holder && !holder.hasAttribute("data-loaded") && !holder.hasAttribute("aria-busy")) {
            load(holder, holder.getAttribute("data-src"));
        }
    }

    $(document).on("shown.bs.tab", 'a[data-toggle="tab"]', function () {
        var target = this.getAttribute("href");
        open(target && target.charAt(0) === "#" ? document.getElementById(target.slice(1)) : null);
    });
    $(function () {
        document.querySelectorAll(".tab-pane.active").forEach(open);
    });

    document.addEventListener("click", function (event) {
        var link = event.target.closest && event.target.closest(".sdelka-related-tab a[href]");
        if (!link) { return; }
        var holder = link.closest(".sdelka-related-tab");
        var url = new URL(link.href, window.location.href);
        var tab = new URL(holder.getAttribute("data-src"), window.location.href);
        if (url.origin === tab.origin && url.pathname === tab.pathname) {
            event.preventDefault();
            load(holder, url.href);
        }
    });
}());
