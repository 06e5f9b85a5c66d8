'use client';
import { App } from '@/ui/App';

export default function Page() {
  return <App />;
}
