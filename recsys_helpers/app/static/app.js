// The page of the live recommender: search, rate, see the list. Everything is computed by
// the server's JSON API (documented at /docs); this script only asks and draws. Nothing is
// stored: the ratings live in this page until it is closed.
"use strict";

const state = {
  low: 0.5,
  high: 5,
  ratings: new Map(), // movieId -> {movie, stars (null until rated)}
  minRatings: 10,
  sequence: 0, // answers to older requests are dropped
};

const $ = (id) => document.getElementById(id);

function element(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value !== null && value !== undefined && value !== false) node.setAttribute(key, value);
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

async function api(path, options = {}) {
  const response = await fetch(path, {
    ...options,
    headers: { "Content-Type": "application/json", Accept: "application/json" },
  });
  let body = null;
  try {
    body = await response.json();
  } catch (error) {
    body = null;
  }
  if (!response.ok) {
    const detail = body && Array.isArray(body.detail) ? body.detail : [];
    const message = detail.map((d) => `${d.loc.join(".")}: ${d.msg}`).join("; ");
    throw new Error(message || `${response.status} ${response.statusText}`);
  }
  return body;
}

function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

const titleOf = (m) => `${m.title ?? `movie ${m.movieId}`}${m.year ? ` (${m.year})` : ""}`;
const formatStars = (x) => (Number.isInteger(x) ? `${x}` : x.toFixed(1));
const plural = (n, word) => `${n.toLocaleString()} ${word}${n === 1 ? "" : "s"}`;

// ----------------------------------------------------------------------------- stars
// A half-star rating as an ARIA slider: click a star (left half = half a star) or use the
// arrow keys, Home and End; digits 1-5 set whole stars.
function starSlider(movie, value, onChange) {
  const count = Math.ceil(state.high);
  const fill = element("span", { class: "stars-fill", "aria-hidden": "true", text: "★".repeat(count) });
  const slider = element(
    "span",
    {
      class: "stars",
      role: "slider",
      tabindex: "0",
      "aria-label": `Your rating of ${titleOf(movie)}`,
      "aria-valuemin": state.low,
      "aria-valuemax": state.high,
    },
    element("span", { class: "stars-empty", "aria-hidden": "true", text: "★".repeat(count) }),
    fill,
  );
  const show = (stars) => {
    fill.style.width = `${stars === null ? 0 : (100 * stars) / count}%`;
    if (stars === null) {
      slider.removeAttribute("aria-valuenow");
      slider.setAttribute("aria-valuetext", "not rated");
    } else {
      slider.setAttribute("aria-valuenow", stars);
      slider.setAttribute("aria-valuetext", `${formatStars(stars)} stars`);
    }
  };
  const set = (stars) => {
    const clipped = Math.min(state.high, Math.max(state.low, Math.round(stars * 2) / 2));
    show(clipped);
    onChange(clipped);
  };
  slider.addEventListener("click", (event) => {
    const box = slider.getBoundingClientRect();
    const fraction = (event.clientX - box.left) / box.width;
    set(Math.ceil(fraction * count * 2) / 2);
  });
  slider.addEventListener("keydown", (event) => {
    const current = Number(slider.getAttribute("aria-valuenow") || state.low - 0.5);
    const keys = {
      ArrowRight: current + 0.5,
      ArrowUp: current + 0.5,
      ArrowLeft: current - 0.5,
      ArrowDown: current - 0.5,
      Home: state.low,
      End: state.high,
    };
    let next = keys[event.key];
    if (next === undefined && /^[1-9]$/.test(event.key)) next = Number(event.key);
    if (next === undefined) return;
    event.preventDefault();
    set(next);
  });
  show(value);
  return slider;
}

function starsShown(stars, label) {
  const count = Math.ceil(state.high);
  const fill = element("span", { class: "stars-fill", "aria-hidden": "true", text: "★".repeat(count) });
  fill.style.width = `${(100 * stars) / count}%`;
  return element(
    "span",
    { class: "stars small", role: "img", "aria-label": label },
    element("span", { class: "stars-empty", "aria-hidden": "true", text: "★".repeat(count) }),
    fill,
  );
}

// ----------------------------------------------------------------------------- search
const search = $("search");
const suggestions = $("suggestions");
let options = [];
let active = -1;

function closeSuggestions() {
  suggestions.hidden = true;
  search.setAttribute("aria-expanded", "false");
  search.removeAttribute("aria-activedescendant");
  active = -1;
}

function highlight(index) {
  active = index;
  [...suggestions.children].forEach((li, i) => li.setAttribute("aria-selected", String(i === index)));
  if (index >= 0) {
    search.setAttribute("aria-activedescendant", `suggestion-${index}`);
    suggestions.children[index].scrollIntoView({ block: "nearest" });
  }
}

function showSuggestions(items) {
  options = items;
  suggestions.replaceChildren(
    ...items.map((movie, i) =>
      element(
        "li",
        {
          id: `suggestion-${i}`,
          role: "option",
          "aria-selected": "false",
          onmousedown: (event) => {
            event.preventDefault(); // keep the focus in the box
            pick(movie);
          },
        },
        element("span", { class: "title", text: titleOf(movie) }),
        element("span", {
          class: "quiet",
          text: `${movie.genres.join(" · ")}${movie.genres.length ? " · " : ""}${plural(movie.n_ratings, "rating")}`,
        }),
      ),
    ),
  );
  if (!items.length) {
    suggestions.append(element("li", { class: "quiet", role: "presentation", text: "No movie has that title." }));
  }
  suggestions.hidden = false;
  search.setAttribute("aria-expanded", "true");
  highlight(items.length ? 0 : -1);
}

const lookUp = debounce(async (query) => {
  if (!query.trim()) return closeSuggestions();
  try {
    const answer = await api(`/api/movies?q=${encodeURIComponent(query)}&limit=8`);
    if (search.value === query) showSuggestions(answer.items);
  } catch (error) {
    $("status").textContent = `Search failed: ${error.message}`;
  }
}, 120);

search.addEventListener("input", () => lookUp(search.value));
search.addEventListener("keydown", (event) => {
  if (event.key === "ArrowDown" && options.length) {
    event.preventDefault();
    if (suggestions.hidden) showSuggestions(options);
    else highlight((active + 1) % options.length);
  } else if (event.key === "ArrowUp" && options.length) {
    event.preventDefault();
    highlight((active - 1 + options.length) % options.length);
  } else if (event.key === "Enter") {
    event.preventDefault();
    if (!suggestions.hidden && active >= 0) pick(options[active]);
  } else if (event.key === "Escape") {
    closeSuggestions();
  }
});
search.addEventListener("blur", () => setTimeout(closeSuggestions, 150));

// ----------------------------------------------------------------------------- ratings
function pick(movie) {
  closeSuggestions();
  search.value = "";
  options = [];
  if (!state.ratings.has(movie.movieId)) state.ratings.set(movie.movieId, { movie, stars: null });
  drawRated();
  const slider = document.querySelector(`#rated [data-movie="${movie.movieId}"] .stars`);
  if (slider) slider.focus();
}

function drawRated() {
  const rows = [...state.ratings.values()].map(({ movie, stars }) => {
    const value = element("span", { class: "stars-value", text: stars === null ? "not rated" : formatStars(stars) });
    const slider = starSlider(movie, stars, (chosen) => {
      state.ratings.get(movie.movieId).stars = chosen;
      value.textContent = formatStars(chosen);
      refresh();
    });
    const remove = element("button", {
      type: "button",
      class: "remove",
      "aria-label": `Remove ${titleOf(movie)}`,
      title: "Remove",
      text: "✕",
      onclick: () => {
        state.ratings.delete(movie.movieId);
        drawRated();
        refresh();
        search.focus();
      },
    });
    return element(
      "li",
      { "data-movie": movie.movieId },
      element("span", { class: "title", text: titleOf(movie) }),
      element("span", { class: "rating" }, slider, value),
      remove,
    );
  });
  $("rated").replaceChildren(...rows);
  $("rated-empty").hidden = rows.length > 0;
}

// ----------------------------------------------------------------------------- lists
function similarDetails(movie) {
  const list = element("ol", { class: "similar" });
  const details = element("details", {}, element("summary", { text: "Similar movies" }), list);
  details.addEventListener("toggle", async () => {
    if (!details.open || list.childElementCount) return;
    try {
      const answer = await api(`/api/movies/${movie.movieId}/similar?n=5&min_ratings=${state.minRatings}`);
      list.replaceChildren(
        ...answer.items.map((m) => element("li", { text: `${titleOf(m)} · cos ${m.similarity.toFixed(2)}` })),
      );
      if (!answer.items.length) list.append(element("li", { class: "quiet", text: "none (no vector)" }));
    } catch (error) {
      list.replaceChildren(element("li", { class: "quiet", text: error.message }));
    }
  });
  return details;
}

function recommendationItem(item, canRate) {
  const spread = item.std === null ? "" : ` ± ${item.std.toFixed(1)}`;
  const because = item.because
    ? element(
        "p",
        { class: "because" },
        canRate ? "because you rated " : "because they rated ",
        element("cite", { text: titleOf(item.because) }),
        item.because.rating === null ? "" : ` (${formatStars(item.because.rating)}★)`,
      )
    : null;
  const genres = item.genres.length ? `${item.genres.join(" · ")} · ` : "";
  const actions = element("div", { class: "actions" });
  if (canRate) {
    actions.append(
      element("button", {
        type: "button",
        text: "Rate it",
        "aria-label": `Rate ${titleOf(item)}`,
        onclick: () => pick(item),
      }),
    );
  }
  actions.append(similarDetails(item));
  return element(
    "li",
    { "data-movie": item.movieId },
    element(
      "div",
      { class: "head" },
      element("span", { class: "title", text: titleOf(item) }),
      element(
        "span",
        { class: "predicted", title: `score ${item.score.toFixed(3)}` },
        starsShown(item.predicted, `predicted ${item.predicted.toFixed(1)} stars`),
        element("span", { text: ` ${item.predicted.toFixed(1)}${spread}` }),
      ),
    ),
    because,
    element(
      "div",
      { class: "meta" },
      element("p", { class: "quiet", text: `${genres}${plural(item.n_ratings, "rating")}` }),
      actions,
    ),
  );
}

async function refresh() {
  const rated = [...state.ratings.values()].filter((r) => r.stars !== null);
  const body = {
    ratings: Object.fromEntries(rated.map((r) => [r.movie.movieId, r.stars])),
    n: 10,
    min_ratings: state.minRatings,
  };
  const sequence = ++state.sequence;
  const list = $("recommendations");
  list.setAttribute("aria-busy", "true");
  try {
    const answer = await api("/api/recommendations", { method: "POST", body: JSON.stringify(body) });
    if (sequence !== state.sequence) return;
    list.replaceChildren(...answer.items.map((item) => recommendationItem(item, true)));
    list.dataset.rated = String(answer.n_rated);
    $("status").textContent = answer.n_rated
      ? `From your ${plural(answer.n_rated, "rating")}.`
      : "Rate a movie to make the list yours; until then it ranks by μ + b_i.";
  } catch (error) {
    if (sequence === state.sequence) $("status").textContent = `Could not get a list: ${error.message}`;
  } finally {
    if (sequence === state.sequence) list.removeAttribute("aria-busy");
  }
}
const refreshSoon = debounce(refresh, 150);

const floor = $("min-ratings");
floor.addEventListener("input", () => {
  state.minRatings = Number(floor.value);
  $("min-ratings-value").textContent = floor.value;
  refreshSoon();
  if (!$("user-mode").hidden && $("user-id").value) showUser();
});

// ----------------------------------------------------------------------------- users
async function showUser() {
  const userId = $("user-id").value;
  if (!userId) return;
  $("user-status").textContent = "Loading…";
  try {
    const answer = await api(`/api/users/${encodeURIComponent(userId)}/recommendations?n=10&min_ratings=${state.minRatings}`);
    $("history").replaceChildren(
      ...answer.history.map((h) =>
        element(
          "li",
          {},
          element("span", { class: "title", text: titleOf(h) }),
          h.rating === null ? element("span", { class: "quiet", text: "rated" }) : starsShown(h.rating, `${formatStars(h.rating)} stars`),
        ),
      ),
    );
    $("user-recommendations").replaceChildren(...answer.items.map((item) => recommendationItem(item, false)));
    const shown = answer.history.length < answer.n_history ? `, the ${answer.history.length} best rated shown` : "";
    $("user-status").textContent = `User ${answer.userId} rated ${plural(answer.n_history, "movie")} in training${shown}.`;
  } catch (error) {
    $("history").replaceChildren();
    $("user-recommendations").replaceChildren();
    $("user-status").textContent = error.message;
  }
}

$("user-form").addEventListener("submit", (event) => {
  event.preventDefault();
  showUser();
});

for (const radio of document.querySelectorAll('input[name="mode"]')) {
  radio.addEventListener("change", () => {
    const user = radio.value === "user" && radio.checked;
    $("user-mode").hidden = !user;
    $("new-mode").hidden = user;
    (user ? $("user-id") : search).focus();
  });
}

// ----------------------------------------------------------------------------- start
async function start() {
  try {
    const info = await api("/api/health");
    [state.low, state.high] = info.rating_range;
    const [first, last] = info.user_ids;
    $("user-id").min = first;
    $("user-id").max = last;
    $("user-id").placeholder = `${first} to ${last}`;
    $("model-info").textContent =
      `${info.model} · K = ${info.n_factors} · ${plural(info.n_movies, "movie")} · ` +
      `${plural(info.n_users, "user")}${info.dataset ? ` · ${info.dataset}` : ""}`;
  } catch (error) {
    $("model-info").textContent = `The server did not answer: ${error.message}`;
  }
  refresh();
}

start();
