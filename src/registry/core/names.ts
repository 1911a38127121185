import { RegistryError } from './errors.js';

const COMPONENT = '[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*';
const NAME = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

/** Repository names per the distribution spec (nested with `/`), at most 255 characters. */
export const checkName = (name: string): string => {
  if (name.length > 255 || !NAME.test(name)) {
    throw new RegistryError('NAME_INVALID', `invalid repository name ${JSON.stringify(name)}`, { detail: { name } });
  }
  return name;
};

export const isTag = (ref: string): boolean => TAG.test(ref);

export const checkTag = (tag: string): string => {
  if (!TAG.test(tag)) throw new RegistryError('TAG_INVALID', `invalid tag ${JSON.stringify(tag)}`, { detail: { tag } });
  return tag;
};
