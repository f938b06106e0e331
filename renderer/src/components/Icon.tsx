/** A few inline SVG icons (no icon font, no network: the CSP allows nothing else). */
const PATHS = {
  shield: 'M12 2 4 5v6c0 5 3.4 9.3 8 11 4.6-1.7 8-6 8-11V5l-8-3z',
  lock: 'M7 10V7a5 5 0 0 1 10 0v3h1a1 1 0 0 1 1 1v9a1 1 0 0 1-1 1H6a1 1 0 0 1-1-1v-9a1 1 0 0 1 1-1h1zm2 0h6V7a3 3 0 0 0-6 0v3z',
  plug: 'M9 2v5H7v4a5 5 0 0 0 4 4.9V22h2v-6.1A5 5 0 0 0 17 11V7h-2V2h-2v5h-2V2H9z',
  list: 'M4 6h16v2H4zm0 5h16v2H4zm0 5h16v2H4z',
  cert: 'M4 4h16v12H13l-1 2-1-2H4zm3 3v2h10V7zm0 4v2h6v-2z',
  logs: 'M5 3h10l4 4v14H5zm9 1v4h4M8 12h8v1.5H8zm0 3h8v1.5H8zm0 3h5v1.5H8z',
  check: 'M9 16.2 4.8 12l-1.4 1.4L9 19 21 7l-1.4-1.4z',
  warn: 'M1 21h22L12 2 1 21zm12-3h-2v-2h2v2zm0-4h-2v-4h2v4z',
  upload: 'M5 20h14v-2H5v2zm7-18-5.5 5.5 1.4 1.4L11 5.8V16h2V5.8l3.1 3.1 1.4-1.4L12 2z',
  sun: 'M12 7a5 5 0 1 0 0 10 5 5 0 0 0 0-10zM11 1h2v3h-2zm0 19h2v3h-2zM1 11h3v2H1zm19 0h3v2h-3z',
  moon: 'M12 3a9 9 0 1 0 9 9 7 7 0 0 1-9-9z',
} as const;

export type IconName = keyof typeof PATHS;

export function Icon({ name, size = 18, label }: { name: IconName; size?: number; label?: string }) {
  return (
    <svg width={size} height={size} viewBox="0 0 24 24" fill="currentColor" role={label === undefined ? undefined : 'img'} aria-hidden={label === undefined ? true : undefined} aria-label={label} className="icon">
      <path d={PATHS[name]} />
    </svg>
  );
}
