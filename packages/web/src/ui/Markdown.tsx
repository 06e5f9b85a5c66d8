'use client';
import { memo, useState, type ReactNode } from 'react';
import ReactMarkdown from 'react-markdown';
import remarkGfm from 'remark-gfm';

function CodeBlock({ children, lang }: { children: ReactNode; lang: string }) {
  const [copied, setCopied] = useState(false);
  const text = String((children as { props?: { children?: unknown } })?.props?.children ?? '');
  return (
    <pre>
      <div className="codehead">
        <span>{lang || 'code'}</span>
        <button className="btn ghost small" type="button" onClick={() => navigator.clipboard.writeText(text.replace(/\n$/, '')).then(() => { setCopied(true); setTimeout(() => setCopied(false), 1200); })}>
          {copied ? 'Copied' : 'Copy'}
        </button>
      </div>
      {children}
    </pre>
  );
}

/** Renders chat text (the model's answers and the user's own messages) as markdown. Raw HTML is never rendered; links open safely. */
export const Markdown = memo(function Markdown({ text }: { text: string }) {
  return (
    <ReactMarkdown
      remarkPlugins={[remarkGfm]}
      skipHtml
      components={{
        pre({ children }) {
          const cls = String((children as { props?: { className?: string } })?.props?.className ?? '');
          return <CodeBlock lang={cls.replace('language-', '')}>{children}</CodeBlock>;
        },
        a({ href, children }) {
          return <a href={href} target="_blank" rel="noopener noreferrer nofollow">{children}</a>;
        },
      }}
    >
      {text}
    </ReactMarkdown>
  );
});
