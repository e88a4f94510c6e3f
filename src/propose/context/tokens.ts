/**
 * A cheap, dependency-free estimate of how many tokens a text costs an LLM. Not a tokenizer: it
 * counts the pieces a BPE tokenizer tends to make.
 *
 *  - a run of letters: 1 token up to 6 letters (common words are one token), else ceil(length / 4)
 *    (long or rare words split into ~4-character pieces);
 *  - a run of digits: ceil(length / 3) (current tokenizers split numbers into groups of up to 3);
 *  - each punctuation or symbol character: 1 (including each non-ASCII character, which is
 *    conservative for accented letters and about right for CJK and emoji);
 *  - whitespace: a single space or tab is free (merged with the next word); a newline run is 1;
 *    other runs of spaces/tabs (indentation) cost ceil(length / 4).
 *
 * Known error, measured by `npm run bench -- propose` against OpenAI's o200k_base and
 * cl100k_base (Claude's tokenizer is not published): it counts 11 % more than they do on a full
 * proposer context (Markdown tables of numbers, lessons, file lists) and 28 % more on the system
 * prompt (English prose with JSON). By construction it leans high: it over-counts
 * punctuation-dense text (JSON, base64, hex, long symbol runs), which BPE tokenizers merge. A plain
 * chars/4 under-counts numbers and symbols badly.
 * Use it for budgeting with headroom (leave room for the prompt template and the answer), never
 * for billing.
 *
 * It is additive at line boundaries: for parts that do not start or end with whitespace,
 * cost(a + "\n" + b + "\n") = cost(a + "\n") + cost(b + "\n"), which the context builder relies on.
 */
export function estimateTokens(text: string): number {
  let tokens = 0;
  for (const m of text.matchAll(/[A-Za-z]+|[0-9]+|\n+|[ \t]+|[^A-Za-z0-9\s]|\s/g)) {
    const piece = m[0];
    const c = piece.charCodeAt(0);
    if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122))
      tokens += piece.length <= 6 ? 1 : Math.ceil(piece.length / 4);
    else if (c >= 48 && c <= 57) tokens += Math.ceil(piece.length / 3);
    else if (c === 10) tokens += 1;
    else if (c === 32 || c === 9) tokens += piece.length === 1 ? 0 : Math.ceil(piece.length / 4);
    else if (/\s/.test(piece)) tokens += 0;
    else tokens += 1;
  }
  return tokens;
}
