/**
 * Import: drop a file (or pick one) — a signed Strait bundle, a strongSwan
 * .sswan or an Apple .mobileconfig. The result says plainly who signed it
 * (or that nobody did) and what was installed.
 */
import { useRef, useState, type DragEvent } from 'react';

import type { DesktopError, ImportReportView } from '../../../../native-helper/src/api/desktop.js';
import { Icon } from '../../components/Icon.js';
import { useApi } from '../../lib/api.js';
import { readFileBase64 } from '../../lib/format.js';

export function ImportPanel() {
  const api = useApi();
  const input = useRef<HTMLInputElement>(null);
  const [dragging, setDragging] = useState(false);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ fileName: string; report?: ImportReportView; error?: DesktopError }>();

  const importFile = async (file: File) => {
    setBusy(true);
    setResult(undefined);
    // A client certificate inside the file is stored locked; its password is asked at connect time.
    const r = await api.importFile({ fileName: file.name, contentBase64: await readFileBase64(file) });
    setBusy(false);
    setResult(r.ok ? { fileName: file.name, report: r.value } : { fileName: file.name, error: r.error });
  };

  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setDragging(false);
    const file = e.dataTransfer.files[0];
    if (file !== undefined) void importFile(file);
  };

  return (
    <section className="card import" aria-labelledby="import-title">
      <h2 id="import-title">Import a profile</h2>
      <div
        className={`dropzone${dragging ? ' dragging' : ''}`}
        onDragOver={(e) => {
          e.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={onDrop}
        data-testid="dropzone"
      >
        <Icon name="upload" size={28} />
        <p>
          Drop the file from IT here, or{' '}
          <button type="button" className="link" onClick={() => input.current?.click()}>
            choose a file
          </button>
        </p>
        <p className="muted small">Signed Strait bundle, strongSwan .sswan or Apple .mobileconfig</p>
        <input
          ref={input}
          type="file"
          className="visually-hidden"
          aria-label="Profile file to import"
          accept=".p7m,.p7s,.pem,.der,.sswan,.mobileconfig,.json,.strait,application/pkcs7-mime"
          onChange={(e) => {
            const file = e.target.files?.[0];
            if (file !== undefined) void importFile(file);
            e.target.value = '';
          }}
        />
      </div>
      {busy && <p className="muted">Checking the file…</p>}
      {result?.error !== undefined && (
        <div className="import-result bad" role="alert">
          <p className="failure-title">
            <Icon name="warn" /> {result.fileName} was not imported
          </p>
          <p>{result.error.message}</p>
        </div>
      )}
      {result?.report !== undefined && <ImportReport fileName={result.fileName} report={result.report} />}
    </section>
  );
}

export function ImportReport({ fileName, report }: { fileName: string; report: ImportReportView }) {
  const signer = report.kind === 'bundle' ? report.signer : report.verified?.signer;
  return (
    <div className="import-result good" role="status" data-testid="import-result">
      <p className={`verification ${signer === undefined ? 'unsigned' : 'signed'}`}>
        <Icon name={signer === undefined ? 'warn' : 'shield'} />
        {signer === undefined ? (
          <span>
            <strong>Not signed.</strong> Nobody vouches for this file; import only files you got from IT directly.
          </span>
        ) : (
          <span>
            <strong>Signature verified.</strong> Signed by {signer}
            {report.kind === 'bundle' ? ` for ${report.issuer} (version ${report.serial})` : ''}.
          </span>
        )}
      </p>
      <p>
        From {fileName}: {report.installed.length === 0 ? 'no profile installed' : `installed ${report.installed.map((p) => p.name).join(', ')}`}.
      </p>
      {report.kind === 'bundle' && report.removed.length > 0 && <p>Removed {report.removed.length} profile(s) the new bundle no longer contains.</p>}
      {report.kind === 'bundle' && report.caCertificates.length > 0 && <p className="muted small">Trusts: {report.caCertificates.join('; ')}</p>}
      {report.kind === 'profiles' && report.ignoredKeys.length > 0 && <p className="muted small">Settings Strait does not use: {report.ignoredKeys.join(', ')}</p>}
      {[...report.warnings, ...report.notes].map((w) => (
        <p key={w} className="muted small">
          {w}
        </p>
      ))}
    </div>
  );
}
