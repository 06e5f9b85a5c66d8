import type { Metadata, Viewport } from 'next';
import type { ReactNode } from 'react';
import { readPublicConfig } from '@/config';
import { Providers } from '@/ui/Providers';
import './globals.css';

export const dynamic = 'force-dynamic';

export const metadata: Metadata = {
  title: 'zkcredits — private AI chat',
  description: 'Chat with AI models, paid per message with zero-knowledge proofs made in your browser.',
};

export const viewport: Viewport = {
  themeColor: [
    { media: '(prefers-color-scheme: light)', color: '#ffffff' },
    { media: '(prefers-color-scheme: dark)', color: '#17171d' },
  ],
};

export default function RootLayout({ children }: { children: ReactNode }) {
  const config = readPublicConfig();
  return (
    <html lang="en">
      <body>
        <noscript>
          <div className="noscript" role="alert">
            zkcredits needs JavaScript: your credits are created, encrypted and proven inside this browser, so nothing works without it.
            Turn JavaScript on for this site and reload the page.
          </div>
        </noscript>
        <Providers config={config}>{children}</Providers>
      </body>
    </html>
  );
}
